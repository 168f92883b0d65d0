"""Logins of the local demo shop, printed by `make demo` (never use them anywhere else)."""

ADMIN_USERNAME = "admin"
ADMIN_PASSWORD = "shopai-demo"
SHOPPER_PASSWORD = "shopper-demo"
