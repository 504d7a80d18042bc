"""The webhook inbox: deliveries in, plain records out, newest first, pruned to a retention as it grows."""

from __future__ import annotations

from datetime import UTC

from sqlalchemy import Engine, delete, select
from sqlalchemy.orm import sessionmaker

from connhub.core.records import Delivery
from connhub.storage.models import WebhookDeliveryRow

_COLUMNS = ("instance_id", "received_at", "event", "verdict", "status", "reason", "errors", "delivery_id",
            "headers", "body", "body_size")


def _delivery(row: WebhookDeliveryRow) -> Delivery:
    delivery = Delivery(**{name: getattr(row, name) for name in _COLUMNS}, id=row.id)
    at = delivery.received_at
    delivery.received_at = at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
    return delivery


class Inbox:
    def __init__(self, engine: Engine):
        self._session = sessionmaker(engine, expire_on_commit=False)

    def add(self, delivery: Delivery, keep: int | None = None) -> Delivery:
        """Keep the delivery; with `keep`, the instance's older ones beyond the newest `keep` go."""
        with self._session() as session:
            row = WebhookDeliveryRow(**{name: getattr(delivery, name) for name in _COLUMNS})
            session.add(row)
            session.flush()
            delivery.id = row.id
            if keep is not None:
                older = select(WebhookDeliveryRow.id).where(WebhookDeliveryRow.instance_id == delivery.instance_id) \
                    .order_by(WebhookDeliveryRow.received_at.desc(), WebhookDeliveryRow.id.desc()).offset(keep)
                if session.scalars(older.limit(1)).first() is not None:
                    session.execute(delete(WebhookDeliveryRow).where(WebhookDeliveryRow.id.in_(older.scalar_subquery())))
            session.commit()
        return delivery

    def list(self, instance_id: str, limit: int = 50, event: str | None = None,
             verdict: str | None = None) -> list[Delivery]:
        query = select(WebhookDeliveryRow).where(WebhookDeliveryRow.instance_id == instance_id)
        if event is not None:
            query = query.where(WebhookDeliveryRow.event == event)
        if verdict is not None:
            query = query.where(WebhookDeliveryRow.verdict == verdict)
        query = query.order_by(WebhookDeliveryRow.received_at.desc(), WebhookDeliveryRow.id.desc()).limit(limit)
        with self._session() as session:
            return [_delivery(row) for row in session.scalars(query)]

    def get(self, delivery_id: int) -> Delivery | None:
        with self._session() as session:
            row = session.get(WebhookDeliveryRow, delivery_id)
            return _delivery(row) if row is not None else None

    def taken_ids(self, instance_id: str, limit: int = 10_000) -> set[str]:
        """The provider ids of the deliveries taken for this instance (newest `limit`): a receiver loads them once
        at its start, so a delivery replayed after a restart is still refused, without a query per delivery."""
        query = select(WebhookDeliveryRow.delivery_id).where(
            WebhookDeliveryRow.instance_id == instance_id, WebhookDeliveryRow.delivery_id.is_not(None),
            WebhookDeliveryRow.verdict.in_(("accepted", "unknown_event"))) \
            .order_by(WebhookDeliveryRow.received_at.desc()).limit(limit)
        with self._session() as session:
            return set(session.scalars(query))
