"""Returns and cancellations the assistant took down: staff approve or reject them in admin.

Approving carries the decision out through the shop's order adapter (``apply_decision``); if the shop
refuses (the order shipped in the meantime), the request stays open and staff are told why."""

from __future__ import annotations

from django.contrib import admin, messages
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from shopai.assistant.after_sales import decide_after_sales
from shopai.models import AfterSalesRequest


@admin.register(AfterSalesRequest)
class AfterSalesRequestAdmin(admin.ModelAdmin):
    list_display = ("created_at", "kind", "status", "order_number", "line_description", "quantity", "decided_by")
    list_filter = ("status", "kind")
    search_fields = ("order_number",)
    ordering = ("created_at",)  # oldest first: the queue
    list_select_related = ("decided_by",)
    actions = ("approve", "reject")
    readonly_fields = (
        "kind",
        "status",
        "order_number",
        "line_ref",
        "line_description",
        "quantity",
        "host_reference",
        "conversation",
        "decided_by",
        "decided_at",
        "created_at",
    )
    fields = readonly_fields + ("staff_note",)

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def _decide(self, request, queryset, *, approve: bool) -> None:
        done, failed = 0, []
        for item in queryset.filter(status=AfterSalesRequest.Status.REQUESTED):
            try:
                decided = decide_after_sales(request=item, staff=request.user, approve=approve)
            except Exception as exc:  # the shop's order system refused: nothing changed
                failed.append(f"{item.order_number}: {exc}")
                continue
            done += decided.status != AfterSalesRequest.Status.REQUESTED
        if done:
            text = (
                ngettext("%d request approved.", "%d requests approved.", done)
                if approve
                else ngettext("%d request rejected.", "%d requests rejected.", done)
            )
            self.message_user(request, text % done, messages.SUCCESS)
        if failed:
            self.message_user(
                request,
                gettext("Not changed, the shop's order system refused: %(failures)s") % {"failures": "; ".join(failed)},
                messages.ERROR,
            )
        if not done and not failed:
            self.message_user(
                request, gettext("None of the selected requests was waiting for a decision."), messages.WARNING
            )

    @admin.action(description=_("Approve the selected requests"), permissions=["change"])
    def approve(self, request, queryset):
        self._decide(request, queryset, approve=True)

    @admin.action(description=_("Reject the selected requests"), permissions=["change"])
    def reject(self, request, queryset):
        self._decide(request, queryset, approve=False)
