//! The commerce event types, one list of stored names: the ingest consults it to accept an event,
//! the projections match on it instead of spelling names, so a misspelt type does not compile.

use super::Resource;

/// Every `ecommerce.*` event type the service stores.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CommerceEventType {
    ProductCreated,
    ProductUpdated,
    ProductDeleted,
    CustomerCreated,
    CustomerUpdated,
    CustomerDeleted,
    OrderPlaced,
    OrderUpdated,
    OrderCompleted,
    OrderCancelled,
    OrderRefunded,
    OrderDeleted,
    CartStarted,
    CartUpdated,
    CartCleared,
    CheckoutStarted,
    ProductSynced,
    CustomerSynced,
    GuestBuyerSynced,
    OrderSynced,
}

/// What a commerce event is about: the read model record it changes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Subject {
    Product,
    Customer,
    Order,
    /// Cart and checkout activity of a shopper.
    Shopper,
    GuestBuyer,
}

impl CommerceEventType {
    pub const ALL: [CommerceEventType; 20] = [
        Self::ProductCreated,
        Self::ProductUpdated,
        Self::ProductDeleted,
        Self::CustomerCreated,
        Self::CustomerUpdated,
        Self::CustomerDeleted,
        Self::OrderPlaced,
        Self::OrderUpdated,
        Self::OrderCompleted,
        Self::OrderCancelled,
        Self::OrderRefunded,
        Self::OrderDeleted,
        Self::CartStarted,
        Self::CartUpdated,
        Self::CartCleared,
        Self::CheckoutStarted,
        Self::ProductSynced,
        Self::CustomerSynced,
        Self::GuestBuyerSynced,
        Self::OrderSynced,
    ];

    /// The stored name (`type` of the event in the log); never change one.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::ProductCreated => "ecommerce.product_created",
            Self::ProductUpdated => "ecommerce.product_updated",
            Self::ProductDeleted => "ecommerce.product_deleted",
            Self::CustomerCreated => "ecommerce.customer_created",
            Self::CustomerUpdated => "ecommerce.customer_updated",
            Self::CustomerDeleted => "ecommerce.customer_deleted",
            Self::OrderPlaced => "ecommerce.order_placed",
            Self::OrderUpdated => "ecommerce.order_updated",
            Self::OrderCompleted => "ecommerce.order_completed",
            Self::OrderCancelled => "ecommerce.order_cancelled",
            Self::OrderRefunded => "ecommerce.order_refunded",
            Self::OrderDeleted => "ecommerce.order_deleted",
            Self::CartStarted => "ecommerce.cart_started",
            Self::CartUpdated => "ecommerce.cart_updated",
            Self::CartCleared => "ecommerce.cart_cleared",
            Self::CheckoutStarted => "ecommerce.checkout_started",
            Self::ProductSynced => "ecommerce.product_synced",
            Self::CustomerSynced => "ecommerce.customer_synced",
            Self::GuestBuyerSynced => "ecommerce.guest_buyer_synced",
            Self::OrderSynced => "ecommerce.order_synced",
        }
    }

    /// The type with this stored name; `None` for any other event (pairing, integration, unknown).
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == name)
    }

    /// What the event's data must be.
    pub const fn resource(self) -> Resource {
        match self {
            Self::ProductCreated | Self::ProductUpdated | Self::ProductSynced => Resource::Product,
            Self::CustomerCreated | Self::CustomerUpdated | Self::CustomerSynced => {
                Resource::Customer
            }
            Self::OrderPlaced
            | Self::OrderUpdated
            | Self::OrderCompleted
            | Self::OrderCancelled
            | Self::OrderSynced => Resource::Order,
            Self::OrderRefunded => Resource::RefundOrOrder,
            Self::ProductDeleted | Self::CustomerDeleted | Self::OrderDeleted => Resource::Deletion,
            Self::CartStarted | Self::CartUpdated | Self::CartCleared | Self::CheckoutStarted => {
                Resource::Shopper
            }
            Self::GuestBuyerSynced => Resource::GuestBuyer,
        }
    }

    pub const fn subject(self) -> Subject {
        match self {
            Self::ProductCreated
            | Self::ProductUpdated
            | Self::ProductDeleted
            | Self::ProductSynced => Subject::Product,
            Self::CustomerCreated
            | Self::CustomerUpdated
            | Self::CustomerDeleted
            | Self::CustomerSynced => Subject::Customer,
            Self::OrderPlaced
            | Self::OrderUpdated
            | Self::OrderCompleted
            | Self::OrderCancelled
            | Self::OrderRefunded
            | Self::OrderDeleted
            | Self::OrderSynced => Subject::Order,
            Self::CartStarted | Self::CartUpdated | Self::CartCleared | Self::CheckoutStarted => {
                Subject::Shopper
            }
            Self::GuestBuyerSynced => Subject::GuestBuyer,
        }
    }

    /// A record of a sync: history, never new activity (it cannot start or end a flow).
    pub const fn is_synced(self) -> bool {
        matches!(
            self,
            Self::ProductSynced | Self::CustomerSynced | Self::GuestBuyerSynced | Self::OrderSynced
        )
    }

    /// A deletion: its data is only `{id}`.
    pub const fn is_deletion(self) -> bool {
        matches!(
            self,
            Self::ProductDeleted | Self::CustomerDeleted | Self::OrderDeleted
        )
    }

    /// The sync batch resource (`products`, `customers`, `guests`, `orders`) a sync record
    /// comes from; `None` for live types.
    pub const fn sync_resource(self) -> Option<&'static str> {
        match self {
            Self::ProductSynced => Some("products"),
            Self::CustomerSynced => Some("customers"),
            Self::GuestBuyerSynced => Some("guests"),
            Self::OrderSynced => Some("orders"),
            _ => None,
        }
    }

    /// The type a sync batch of `resource` stores its items as.
    pub fn synced(resource: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|t| t.sync_resource() == Some(resource))
    }
}

impl std::fmt::Display for CommerceEventType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_type_round_trips_through_its_stored_name() {
        let mut names = std::collections::BTreeSet::new();
        for kind in CommerceEventType::ALL {
            assert_eq!(CommerceEventType::parse(kind.as_str()), Some(kind));
            assert!(kind.as_str().starts_with("ecommerce."), "{kind}");
            assert!(names.insert(kind.as_str()), "{kind} is listed once");
        }
        assert_eq!(CommerceEventType::parse("ecommerce.order_shipped"), None);
        assert_eq!(CommerceEventType::parse("woocommerce.connected"), None);
    }

    #[test]
    fn sync_records_are_named_synced_and_deletions_carry_a_reference() {
        for kind in CommerceEventType::ALL {
            assert_eq!(
                kind.is_synced(),
                kind.as_str().ends_with("_synced"),
                "{kind}"
            );
            assert_eq!(kind.is_synced(), kind.sync_resource().is_some(), "{kind}");
            assert_eq!(
                kind.is_deletion(),
                kind.resource() == Resource::Deletion,
                "{kind}"
            );
        }
        assert_eq!(
            CommerceEventType::synced("guests"),
            Some(CommerceEventType::GuestBuyerSynced)
        );
        assert_eq!(CommerceEventType::synced("coupons"), None);
    }
}
