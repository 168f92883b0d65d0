"""Admin of the demo shop; the product admin gets shopai through one mixin."""

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin

from shopai.admin import ShopAIProductAdminMixin, erase_shopai_data
from store.models import Category, Order, OrderItem, Product, ProductView


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ("full_name", "slug")
    search_fields = ("name",)
    list_select_related = ("parent", "parent__parent")


@admin.register(Product)
class ProductAdmin(ShopAIProductAdminMixin, admin.ModelAdmin):
    list_display = ("sku", "name", "category", "price", "stock", "language", "is_active", "shopai_embedding_status")
    list_filter = ("is_active", "language", "category")
    search_fields = ("sku", "name", "description")
    list_select_related = ("category", "category__parent", "category__parent__parent")
    list_editable = ("price", "stock", "is_active")
    list_per_page = 50


class OrderItemInline(admin.TabularInline):
    model = OrderItem
    extra = 0
    autocomplete_fields = ("product",)


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = ("id", "user", "status", "created_at", "tracking_number")
    list_filter = ("status",)
    search_fields = ("user__username", "tracking_number", "id")
    inlines = [OrderItemInline]


@admin.register(ProductView)
class ProductViewAdmin(admin.ModelAdmin):
    list_display = ("user", "product", "viewed_at")
    list_select_related = ("user", "product")


# The shop's user admin offers shopai's erasure next to Django's own actions.
admin.site.unregister(get_user_model())


@admin.register(get_user_model())
class ShopUserAdmin(UserAdmin):
    actions = ["delete_selected", erase_shopai_data]
