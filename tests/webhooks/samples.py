"""Golden notification bodies, rebuilt from docs/bandwidth-api.md §7 (element order as in real payloads)."""

from __future__ import annotations

DECL = b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'

ORDER_COMPLETE = (
    DECL
    + b"""<Notification>
  <Status>COMPLETE</Status>
  <SubscriptionId>e73f1bf9-f300-4f72-9eea-e2f4ea32e024</SubscriptionId>
  <Message>Created a new number order for 1 number from BLACKSHEAR, GA</Message>
  <OrderId>49df4009-b183-4642-b989-8d78ed6bacb9</OrderId>
  <OrderType>orders</OrderType>
  <CompletedTelephoneNumbers>
    <TelephoneNumber>9122087804</TelephoneNumber>
  </CompletedTelephoneNumbers>
  <LastModifiedDate>2024-02-22T20:40:47.539Z</LastModifiedDate>
</Notification>
"""
)

ORDER_FAILED = (
    DECL
    + b"""<Notification>
  <Status>FAILED</Status>
  <SubscriptionId>333643f0-3eac-4c8f-8b15-c712f49e09fe</SubscriptionId>
  <Message>5005: The telephone number is unavailable for ordering</Message>
  <OrderId>4a58b348-892c-4426-8900-97fc4555c42c</OrderId>
  <OrderType>orders</OrderType>
  <CompletedTelephoneNumbers>
    <TelephoneNumber>5402278098</TelephoneNumber>
  </CompletedTelephoneNumbers>
</Notification>
"""
)

CSRS = (
    DECL
    + b"""<Notification>
  <Status>COMPLETE</Status>
  <SubscriptionId>bfdf89f4-8d0c-4415-a203-ceb7afe00f88</SubscriptionId>
  <Message>The CSR request is complete.</Message>
  <OrderId>20ba7d26-7fa0-4716-ab45-6c8e07d37862</OrderId>
  <OrderType>csrs</OrderType>
</Notification>
"""
)

PORTIN_FOC = (
    DECL
    + b"""<Notification>
  <SubscriptionId>0b3aa54d-0ce5-4f5b-bd75-1c30967b197f</SubscriptionId>
  <OrderType>portins</OrderType>
  <OrderId>ee456cfb-d237-4adc-b3f8-9db03d2e62a2</OrderId>
  <CustomerOrderId>my-ref-1</CustomerOrderId>
  <Status>FOC</Status>
  <LastModifiedDate>2023-09-12T15:11:31.705Z</LastModifiedDate>
  <ActualFocDate>2023-09-12T00:00:00Z</ActualFocDate>
</Notification>
"""
)

EVENT_IMPACTED = b"""<?xml version="1.0"?>
<Notification>
  <SubscriptionId>4025131f-a05f-4269-8ad6-f38efbf23cea</SubscriptionId>
  <EventType>MESSAGING_LOST</EventType>
  <ImpactedTelephoneNumbers>
    <TelephoneNumber>9192345678</TelephoneNumber>
    <TelephoneNumber>9192345679</TelephoneNumber>
  </ImpactedTelephoneNumbers>
</Notification>
"""

EVENT_COMPLETED = EVENT_IMPACTED.replace(b"ImpactedTelephoneNumbers", b"CompletedTelephoneNumbers")

ALL = {
    "order_complete": ORDER_COMPLETE,
    "order_failed": ORDER_FAILED,
    "csrs": CSRS,
    "portin_foc": PORTIN_FOC,
    "event_impacted": EVENT_IMPACTED,
    "event_completed": EVENT_COMPLETED,
}
