"""Documented wire samples (docs/bandwidth-api.md §1-§3, §6), rebuilt as test data for exact-shape checks."""

from __future__ import annotations

REQUEST_CALLBACK_ORDERS = b"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Subscription>
  <OrderType>orders</OrderType>
  <CallbackSubscription>
    <URL>https://hooks.example.com/bw/orders</URL>
    <Expiry>3600</Expiry>
    <CallbackCredentials>
      <BasicAuthentication>
        <Username>hookuser</Username>
        <Password>hookpass-Secret-7</Password>
      </BasicAuthentication>
    </CallbackCredentials>
    <NumberFormat>LEGACY</NumberFormat>
  </CallbackSubscription>
</Subscription>"""

REQUEST_EVENT = b"""<Subscription>
  <EventType>MESSAGING_LOST</EventType>
  <CallbackSubscription>
    <URL>https://hooks.example.com/bw/events</URL>
    <Expiry>3600</Expiry>
  </CallbackSubscription>
</Subscription>"""

REQUEST_EMAIL_ORDER = b"""<Subscription>
  <OrderType>orders</OrderType>
  <OrderId>8684b1c8-7d41-4877-bfc2-6bd8ea4dc89f</OrderId>
  <EmailSubscription>
    <Email>ops@example.com</Email>
    <DigestRequested>NONE</DigestRequested>
  </EmailSubscription>
</Subscription>"""

#: §2 list response; SubscriptionId and Expiry vary per run and are compared by pattern, not value.
LIST_RESPONSE = b"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<SubscriptionsResponse>
  <Subscriptions>
    <Subscription>
      <SubscriptionId>4025131f-a05f-4269-8ad6-f38efbf23cea</SubscriptionId>
      <EventType>MESSAGING_LOST</EventType>
      <CallbackSubscription>
        <URL>https://hooks.example.com/bw/events</URL>
        <Expiry>3586</Expiry>
        <Status>READY</Status>
      </CallbackSubscription>
    </Subscription>
    <Subscription>
      <SubscriptionId>c01a23e3-eb99-4174-9598-77d5beadebcf</SubscriptionId>
      <OrderType>orders</OrderType>
      <CallbackSubscription>
        <URL>https://hooks.example.com/bw/orders</URL>
        <Expiry>3593</Expiry>
        <Status>READY</Status>
        <CallbackCredentials>
          <BasicAuthentication>
            <Username>hookuser</Username>
          </BasicAuthentication>
        </CallbackCredentials>
        <NumberFormat>LEGACY</NumberFormat>
      </CallbackSubscription>
    </Subscription>
    <Subscription>
      <SubscriptionId>0b3aa54d-0ce5-4f5b-bd75-1c30967b197f</SubscriptionId>
      <OrderType>orders</OrderType>
      <OrderId>8684b1c8-7d41-4877-bfc2-6bd8ea4dc89f</OrderId>
      <EmailSubscription>
        <Email>ops@example.com</Email>
        <DigestRequested>NONE</DigestRequested>
      </EmailSubscription>
    </Subscription>
  </Subscriptions>
</SubscriptionsResponse>"""

#: §3 get-one response (the wrapped shape every SDK parses).
GET_RESPONSE = b"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<SubscriptionsResponse>
  <Subscriptions>
    <Subscription>
      <SubscriptionId>c01a23e3-eb99-4174-9598-77d5beadebcf</SubscriptionId>
      <OrderType>orders</OrderType>
      <CallbackSubscription>
        <URL>https://hooks.example.com/bw/orders</URL>
        <Expiry>3319</Expiry>
        <Status>READY</Status>
        <CallbackCredentials>
          <BasicAuthentication><Username>hookuser</Username></BasicAuthentication>
        </CallbackCredentials>
      </CallbackSubscription>
    </Subscription>
  </Subscriptions>
</SubscriptionsResponse>"""

#: §6.1 error envelope.
ERROR_RESPONSE = b"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<SubscriptionsResponse>
  <ResponseStatus>
    <ErrorCode>14506</ErrorCode>
    <Description>Callback URL is invalid</Description>
  </ResponseStatus>
</SubscriptionsResponse>"""

XML_DECLARATION = b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
