// An order-notification callback with Basic-auth credentials, and an e-mail alert for lost messages.
package main

import (
	"github.com/bandwidth-pulumi/bandwidth-pulumi/sdk/go/bandwidth"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/config"
)

func main() {
	pulumi.Run(func(ctx *pulumi.Context) error {
		cfg := config.New(ctx, "")
		orders, err := bandwidth.NewSubscription(ctx, "orders", &bandwidth.SubscriptionArgs{
			OrderType:        pulumi.String("orders"),
			CallbackUrl:      pulumi.String("https://hooks.example.com/bandwidth/orders"),
			CallbackUsername: pulumi.String("bandwidth"),
			CallbackPassword: cfg.RequireSecret("callbackPassword"),
		})
		if err != nil {
			return err
		}
		lost, err := bandwidth.NewSubscription(ctx, "messagingLost", &bandwidth.SubscriptionArgs{
			EventType: pulumi.String("MESSAGING_LOST"),
			Email:     pulumi.String("noc@example.com"),
			Digest:    pulumi.String("DAILY"),
		})
		if err != nil {
			return err
		}
		ctx.Export("ordersSubscriptionId", orders.SubscriptionId)
		ctx.Export("messagingLostSubscriptionId", lost.SubscriptionId)
		return nil
	})
}
