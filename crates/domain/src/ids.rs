//! Typed ids: a request id cannot be passed where an integration id is meant.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            /// A new time-ordered (v7) id.
            pub fn generate() -> Self {
                $name(Uuid::now_v7())
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map($name)
            }
        }
    };
}

id_type!(
    /// A pairing request (`pairing-{id}`).
    RequestId
);
id_type!(
    /// A connected store (`integration-{id}`, `store-{id}`).
    IntegrationId
);
id_type!(
    /// A company owning stores.
    CompanyId
);
id_type!(
    /// A person signing in.
    UserId
);
id_type!(
    /// One sync of a store: its command, its batches and its outcome.
    SyncId
);

impl IntegrationId {
    /// The integration of a store in a company: the same store (install id and normalised URL)
    /// reconnecting to the same company gets the same integration, and with it its history.
    pub fn for_store(
        company: CompanyId,
        install_id: &str,
        store_url: &crate::values::StoreUrl,
    ) -> Self {
        const NAMESPACE: Uuid = Uuid::from_u128(0x8c1e_5a7e_0000_4000_8000_57a1_e0c0_ffee);
        let key = format!("{company}\n{install_id}\n{store_url}");
        IntegrationId(Uuid::new_v5(&NAMESPACE, key.as_bytes()))
    }
}
