"""Admin of the demo shop; the product admin gets shopai through one mixin."""

from django.contrib import admin

from shopai.admin import ShopAIProductAdminMixin
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
