// Bandwidth Dashboard API callback and e-mail subscriptions (number ordering and porting).
package bandwidth
