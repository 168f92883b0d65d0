"""Signal receivers: they only schedule work, after the transaction commits."""

from celery import current_app
from celery import signals as celery_signals
from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in
from django.core.signals import setting_changed
from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_init, post_save, pre_delete
from django.dispatch import receiver

from shopai import backends, signals
from shopai.adapters import get_product_adapter, get_product_model, is_product_model
from shopai.assistant import faqs, intents, notifications
from shopai.assistant import phrasings as faq_phrasings
from shopai.conf import shopai_settings
from shopai.core import health, tracking
from shopai.core.erasure import erase_shopper
from shopai.core.visitors import VISITOR_KEY
from shopai.models import FAQ, RecommenderSettings
from shopai.recommendations import events, profiles
from shopai.recommendations import tuned_settings as rec_settings
from shopai.search import embeddings
from shopai.studio import campaigns, experiments


def product_loaded(sender, instance, **kwargs):
    # Remember the values the embedded text is built from (local fields and foreign keys only:
    # no query), so that a save that changes none of them (price, stock) queues nothing.
    instance._shopai_text_state = embeddings.text_state(instance)


_connected: list[tuple] = []  # (signal, sender, dispatch_uid) connected for the product model in force


def connect_product_loaded() -> None:
    """Connect the receivers that depend on the product model, for that model only: post_init
    fires for every model instance anywhere, and a global receiver would tax them all
    (bench/write_path.py). The rows the text reads (categories, a variant's parent) get save and
    delete receivers, and the many-to-many relations it reads an m2m_changed receiver, so that a
    category renamed in any admin or dashboard reaches the index without a reindex."""
    for signal, sender, uid in _connected:
        signal.disconnect(sender=sender, dispatch_uid=uid)
    _connected.clear()
    _through_product.clear()
    try:
        model = get_product_model()
        adapter = get_product_adapter()
        relations = adapter.text_relations()
    except Exception:  # not configured (yet): system check shopai.E001 reports it
        return

    def connect(signal, receiver_function, sender, uid):
        signal.connect(receiver_function, sender=sender, dispatch_uid=uid, weak=False)
        _connected.append((signal, sender, uid))

    connect(post_init, product_loaded, model, "shopai_product_loaded")
    for related in dict.fromkeys(related for related, _ in relations):  # each model once, in order
        label = related._meta.label_lower
        connect(post_save, text_source_saved, related, f"shopai_text_source_saved:{label}")
        connect(pre_delete, text_source_deleting, related, f"shopai_text_source_deleting:{label}")
        connect(post_delete, text_source_deleted, related, f"shopai_text_source_deleted:{label}")
    for field in model._meta.get_fields():
        if (
            field.many_to_many
            and field.concrete
            and any(lookup.split("__")[0] == field.name for _, lookup in relations)
        ):
            through = field.remote_field.through
            label = through._meta.label_lower
            connect(m2m_changed, text_links_changed, through, f"shopai_text_links:{label}")
            if not through._meta.auto_created:  # a model of its own: forms and dashboards save its rows
                _through_product[through] = f"{field.m2m_field_name()}_id"
                connect(post_save, text_link_saved, through, f"shopai_text_link_saved:{label}")
                connect(post_delete, text_link_saved, through, f"shopai_text_link_deleted:{label}")


_through_product: dict[type, str] = {}  # explicit through model -> attribute holding the product's id


def text_link_saved(sender, instance, raw=False, using="default", **kwargs):
    # A row of an explicit many-to-many model (oscar's ProductCategory) saved or deleted directly.
    if not raw:
        _schedule([getattr(instance, _through_product[sender])], using)


def _schedule(product_pks, using: str) -> None:
    for pk in product_pks:
        embeddings.schedule_product_embedding(product_pk=pk, using=using)


def text_source_saved(sender, instance, raw=False, using="default", **kwargs):
    # A row the product text reads was saved: re-embed the products that read it (the worker's
    # hash check makes an unchanged text cost a read, not a model call).
    if not raw:
        _schedule(get_product_adapter().products_affected_by(instance).values_list("pk", flat=True), using)


def text_source_deleting(sender, instance, using="default", **kwargs):
    # Before the row goes (and with it, the links to it): remember who read it.
    instance._shopai_affected = list(get_product_adapter().products_affected_by(instance).values_list("pk", flat=True))


def text_source_deleted(sender, instance, using="default", **kwargs):
    _schedule(getattr(instance, "_shopai_affected", ()), using)


def text_links_changed(sender, instance, action, reverse, pk_set, using="default", **kwargs):
    # product.categories.add(...) and the like: no save of the product, so no post_save.
    if action not in ("post_add", "post_remove", "pre_clear"):
        return
    if not reverse:
        _schedule([instance.pk], using)
    elif action == "pre_clear":
        _schedule(get_product_adapter().products_affected_by(instance).values_list("pk", flat=True), using)
    else:
        _schedule(pk_set or (), using)


@receiver(post_save, dispatch_uid="shopai_product_saved")
def product_saved(sender, instance, raw=False, using="default", created=False, **kwargs):
    # Connected for all senders so that a change of SHOPAI["PRODUCT_MODEL"] (tests,
    # override_settings) needs no reconnecting; the check is a string comparison.
    if raw or not is_product_model(sender):
        return
    state = embeddings.text_state(instance)
    if not created and state is not None and state == getattr(instance, "_shopai_text_state", None):
        return  # the text cannot have changed; edits of related rows have receivers of their own
    instance._shopai_text_state = state
    embeddings.schedule_product_embedding(product_pk=instance.pk, using=using)


@receiver(post_delete, dispatch_uid="shopai_product_deleted")
def product_deleted(sender, instance, using="default", **kwargs):
    if not is_product_model(sender):
        return
    # A single indexed DELETE in the same transaction: cheap, and it rolls back with it.
    embeddings.delete_product_embeddings(product_pks=[instance.pk])


@receiver(post_save, sender=FAQ, dispatch_uid="shopai_faq_saved")
def faq_saved(sender, instance, raw=False, **kwargs):
    if not raw:
        faqs.schedule_faq_embedding(faq_id=instance.pk)
        faq_phrasings.schedule(instance)


@receiver(post_save, sender=RecommenderSettings, dispatch_uid="shopai_recommender_settings_saved")
@receiver(post_delete, sender=RecommenderSettings, dispatch_uid="shopai_recommender_settings_deleted")
def recommender_settings_changed(sender, **kwargs):
    rec_settings.forget_override()


@receiver(user_logged_in, dispatch_uid="shopai_merge_session_events")
def merge_visitor_history(sender, request, user, **kwargs):
    # login() gives the session a new key, but keeps its data: the visitor key is stored there.
    key = request.session.get(VISITOR_KEY, "") if request is not None else ""
    events.merge_session_events(session_key=key, user=user)


@receiver(post_save, dispatch_uid="shopai_order_saved")
@receiver(post_delete, dispatch_uid="shopai_order_deleted")
def order_changed(sender, instance, raw=False, using="default", **kwargs):
    # Orders and their lines count as purchases once the transaction commits (SQL only, no model call).
    if raw:
        return
    order_pk = events.order_pk_for(sender, instance)
    if order_pk is not None:
        events.schedule_order_sync(order_pk=order_pk, using=using)


@receiver(setting_changed, dispatch_uid="shopai_settings_changed")
def settings_changed(*, setting: str, **kwargs):
    """SHOPAI changed (tests, override_settings): forget everything cached from it."""
    if setting != "SHOPAI":
        return
    shopai_settings.reload()
    backends.reset()
    embeddings.text_attnames.cache_clear()  # PRODUCT_TEXT_FIELDS may have changed
    events.order_senders.cache_clear()  # ORDER_MODEL / ORDER_FIELDS may have changed
    intents.forget_classifiers()  # ASSISTANT["INTENT_EXAMPLES"] or its model may have changed
    connect_product_loaded()  # PRODUCT_MODEL may have changed


@receiver(signals.visitor_merged, dispatch_uid="shopai_experiments_visitor_merged")
def experiments_follow_the_visitor(sender, *, session_key: str, user, **kwargs):
    experiments.merge_visitor(session_key=session_key, user=user)


@receiver(signals.visitor_merged, dispatch_uid="shopai_tracking_visitor_merged")
def clicks_follow_the_visitor(sender, *, session_key: str, user, **kwargs):
    # Their clicks as a visitor count for the orders they place signed in.
    tracking.merge_visitor(session_key=session_key, user=user)


@receiver(signals.purchases_recorded, dispatch_uid="shopai_experiments_purchases")
def experiments_count_purchases(sender, *, user_id, product_pks, **kwargs):
    experiments.convert_purchase(visitor=f"user:{user_id}", product_pks=product_pks)


@receiver(signals.purchases_recorded, dispatch_uid="shopai_campaigns_purchases")
def campaigns_count_purchases(sender, *, user_id, product_pks, **kwargs):
    # A purchase soon after a campaign mail's click converts that campaign's variant.
    campaigns.attribute_purchase(user_id=user_id)


@receiver(signals.embedding_model_completed, dispatch_uid="shopai_profiles_follow_the_model")
def profiles_follow_the_model(sender, *, model_name: str, **kwargs):
    # Interest profiles live in the product vectors' space: rebuilt in the new model's, once it serves.
    transaction.on_commit(profiles.queue_rebuild_all)


@receiver(signals.handoff_requested, dispatch_uid="shopai_handoff_notify_staff")
def handoff_notify_staff(sender, *, case_id: int, **kwargs):
    # Sent once the case committed: queue the e-mail and webhook (if the shop set either); a broker
    # that is down loses the notice only, the case is in admin.
    notifications.schedule_handoff_notification(case_id=case_id)


@receiver(pre_delete, dispatch_uid="shopai_user_deleted")
def user_deleted(sender, instance, **kwargs):
    # A deleted account takes shopai's data about the shopper with it (exchanges would otherwise
    # only lose their link to the user, keeping what the shopper wrote).
    if sender is get_user_model():
        erase_shopper(user=instance)


@celery_signals.worker_ready.connect(dispatch_uid="shopai_worker_heartbeat")
def worker_heartbeat(sender=None, **kwargs):
    # The worker says, per queue it consumes, that it is alive (GET /shopai/health/ reads it).
    app = getattr(sender, "app", None) or current_app
    queues = list(app.amqp.queues.consume_from or app.amqp.queues)
    health.start_heartbeat(queues)
