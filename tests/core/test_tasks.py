"""Every shopai task is durable and retried the same way; the embedding tasks follow TASK_MAX_RETRIES."""

from celery import current_app

from shopai.core.tasks import TRANSIENT


def shopai_tasks():
    return {name: task for name, task in current_app.tasks.items() if name.startswith("shopai.")}


def test_every_task_is_acknowledged_late_requeued_when_its_worker_dies_and_retries_transient_failures():
    tasks = shopai_tasks()

    assert len(tasks) == 12  # with refresh_insights, send_campaign, refresh_segments
    for name, task in tasks.items():
        assert task.acks_late and task.reject_on_worker_lost, name
        assert task.autoretry_for == TRANSIENT and hasattr(task, "_orig_run"), name  # wrapped for retries


def test_embedding_tasks_retry_as_often_as_the_setting_says(settings):
    settings.SHOPAI = {**settings.SHOPAI, "TASK_MAX_RETRIES": 1}
    tasks = shopai_tasks()

    assert tasks["shopai.tasks.embed_products"].max_retries == 1
    assert tasks["shopai.tasks.update_profile"].max_retries == 1
    assert tasks["shopai.tasks.generate_copy"].max_retries == 3  # model calls: their own, fixed budget
