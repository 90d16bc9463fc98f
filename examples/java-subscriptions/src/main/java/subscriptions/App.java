// An order-notification callback with Basic-auth credentials, and an e-mail alert for lost messages.
package subscriptions;

import com.pulumi.Pulumi;
import io.github.bandwidthpulumi.bandwidth.Subscription;
import io.github.bandwidthpulumi.bandwidth.SubscriptionArgs;

public class App {
    public static void main(String[] args) {
        Pulumi.run(ctx -> {
            var orders = new Subscription("orders", SubscriptionArgs.builder()
                .orderType("orders")
                .callbackUrl("https://hooks.example.com/bandwidth/orders")
                .callbackUsername("bandwidth")
                .callbackPassword(ctx.config().requireSecret("callbackPassword"))
                .build());
            var lost = new Subscription("messagingLost", SubscriptionArgs.builder()
                .eventType("MESSAGING_LOST")
                .email("noc@example.com")
                .digest("DAILY")
                .build());
            ctx.export("ordersSubscriptionId", orders.subscriptionId());
            ctx.export("messagingLostSubscriptionId", lost.subscriptionId());
        });
    }
}
