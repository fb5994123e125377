//! What a sync covers: the whole store, or a part of it — one resource, what changed since a date,
//! or a list of ids (the orders changed while the plugin was off) — so that a merchant repairs a
//! gap without resending the whole store. The plugin reads the scope on its `sync_store` command.

use serde::{Deserialize, Serialize};
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Date, OffsetDateTime};

/// Ids one targeted sync may name: enough for the orders of a day the plugin was off, small
/// enough for one command and one page of the plugin's own queries.
pub const MAX_SCOPE_IDS: usize = 1000;

/// A resource the plugin syncs, in the order it syncs them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum SyncResource {
    Products,
    Customers,
    /// Buyers without an account, taken from orders: they have no WooCommerce id of their own.
    Guests,
    Orders,
}

impl SyncResource {
    pub const ALL: [SyncResource; 4] = [
        SyncResource::Products,
        SyncResource::Customers,
        SyncResource::Guests,
        SyncResource::Orders,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SyncResource::Products => "products",
            SyncResource::Customers => "customers",
            SyncResource::Guests => "guests",
            SyncResource::Orders => "orders",
        }
    }

    pub fn parse(name: &str) -> Option<SyncResource> {
        Self::ALL.into_iter().find(|r| r.as_str() == name)
    }
}

/// The part of the store a sync covers. The default (nothing set) is a full sync; each field set
/// narrows it, and an item is sent when it passes all of them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct SyncScope {
    /// Only this resource; absent: all four.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<SyncResource>,
    /// Only items modified at or after this time (WooCommerce's `modified_after`, on the
    /// `date_modified_gmt` of products, customers and orders; a guest buyer by the date of the
    /// order it comes from).
    #[cfg_attr(
        feature = "schemars",
        schemars(with = "Option<crate::schema::Rfc3339>")
    )]
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "time::serde::rfc3339::option"
    )]
    pub modified_after: Option<OffsetDateTime>,
    /// Only these WooCommerce ids of `resource` (which is then products, customers or orders);
    /// at most 1,000, sorted, no repeats.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ids: Vec<u64>,
}

/// Why a scope was refused; `code` is the machine-readable part of the answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ScopeError {
    #[error("resource is one of products, customers, guests, orders")]
    UnknownResource,
    #[error("modified_after is a date (2026-11-01) or an RFC 3339 time (2026-11-01T08:00:00Z)")]
    InvalidDate,
    #[error("a sync names at most {MAX_SCOPE_IDS} ids")]
    TooManyIds,
    #[error("ids are whole numbers above 0, separated by commas or spaces")]
    InvalidId,
    #[error("ids name items of one resource: choose products, customers or orders")]
    IdsWithoutResource,
}

impl ScopeError {
    pub const ALL: [ScopeError; 5] = [
        ScopeError::UnknownResource,
        ScopeError::InvalidDate,
        ScopeError::TooManyIds,
        ScopeError::InvalidId,
        ScopeError::IdsWithoutResource,
    ];

    pub fn code(&self) -> &'static str {
        match self {
            ScopeError::UnknownResource => "unknown_resource",
            ScopeError::InvalidDate => "invalid_date",
            ScopeError::TooManyIds => "too_many_ids",
            ScopeError::InvalidId => "invalid_id",
            ScopeError::IdsWithoutResource => "ids_need_resource",
        }
    }

    /// The field at fault.
    pub fn path(&self) -> &'static str {
        match self {
            ScopeError::UnknownResource => "resource",
            ScopeError::InvalidDate => "modified_after",
            ScopeError::TooManyIds | ScopeError::InvalidId | ScopeError::IdsWithoutResource => {
                "ids"
            }
        }
    }
}

impl SyncScope {
    /// A scope from what a person typed or an API client sent: blank fields are left out.
    pub fn parse(
        resource: Option<&str>,
        modified_after: Option<&str>,
        ids: Vec<u64>,
    ) -> Result<SyncScope, ScopeError> {
        let resource = match resource.map(str::trim).filter(|r| !r.is_empty()) {
            Some(name) => Some(SyncResource::parse(name).ok_or(ScopeError::UnknownResource)?),
            None => None,
        };
        let modified_after = match modified_after.map(str::trim).filter(|d| !d.is_empty()) {
            Some(text) => Some(parse_date(text).ok_or(ScopeError::InvalidDate)?),
            None => None,
        };
        let mut ids = ids;
        if ids.len() > MAX_SCOPE_IDS {
            return Err(ScopeError::TooManyIds);
        }
        if ids.contains(&0) {
            return Err(ScopeError::InvalidId);
        }
        if !ids.is_empty() && matches!(resource, None | Some(SyncResource::Guests)) {
            return Err(ScopeError::IdsWithoutResource);
        }
        ids.sort_unstable();
        ids.dedup();
        Ok(SyncScope {
            resource,
            modified_after,
            ids,
        })
    }

    /// Ids as typed in a form: separated by commas, spaces or new lines. Reading stops one past
    /// the limit, so a pasted list of millions costs no more than a short one.
    pub fn parse_ids(text: &str) -> Result<Vec<u64>, ScopeError> {
        let mut ids = Vec::new();
        for word in text
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|w| !w.is_empty())
        {
            if ids.len() == MAX_SCOPE_IDS {
                return Err(ScopeError::TooManyIds);
            }
            ids.push(word.parse().map_err(|_| ScopeError::InvalidId)?);
        }
        Ok(ids)
    }

    /// A full sync: nothing narrows it.
    pub fn is_full(&self) -> bool {
        self == &SyncScope::default()
    }

    /// The resources this sync sends, in sync order.
    pub fn resources(&self) -> Vec<SyncResource> {
        SyncResource::ALL
            .into_iter()
            .filter(|r| self.covers(*r))
            .collect()
    }

    pub fn covers(&self, resource: SyncResource) -> bool {
        self.resource.is_none_or(|r| r == resource)
    }

    /// Whether the plugin sends this item: one of `resource` with WooCommerce id `id` (none for
    /// a guest buyer) last modified at `modified`.
    pub fn selects(
        &self,
        resource: SyncResource,
        id: Option<u64>,
        modified: Option<OffsetDateTime>,
    ) -> bool {
        self.covers(resource)
            && (self.ids.is_empty() || id.is_some_and(|id| self.ids.binary_search(&id).is_ok()))
            && self
                .modified_after
                .is_none_or(|after| modified.is_some_and(|at| at >= after))
    }

    /// The scope as a person reads it: "orders changed since 2026-11-01 00:00 UTC, 3 ids".
    pub fn describe(&self) -> String {
        let mut text = match self.resource {
            Some(resource) => resource.as_str().to_owned(),
            None => "everything".to_owned(),
        };
        if let Some(after) = self.modified_after {
            let format = format_description!("[year]-[month]-[day] [hour]:[minute] UTC");
            let at = after
                .to_offset(time::UtcOffset::UTC)
                .format(&format)
                .unwrap_or_default();
            text.push_str(&format!(" changed since {at}"));
        }
        match self.ids.len() {
            0 => {}
            1 => text.push_str(&format!(", id {}", self.ids[0])),
            n => text.push_str(&format!(", {n} ids")),
        }
        text
    }
}

/// `2026-11-01` (midnight UTC, what a date field sends) or a full RFC 3339 time.
fn parse_date(text: &str) -> Option<OffsetDateTime> {
    if let Ok(at) = OffsetDateTime::parse(text, &Rfc3339) {
        return Some(at);
    }
    Date::parse(text, format_description!("[year]-[month]-[day]"))
        .ok()
        .map(|date| date.midnight().assume_utc())
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    #[test]
    fn blank_fields_make_a_full_sync_and_each_field_narrows_it() {
        let full = SyncScope::parse(Some(" "), Some(""), vec![]).unwrap();
        assert!(full.is_full());
        assert_eq!(full.resources(), SyncResource::ALL);

        let scope = SyncScope::parse(Some("orders"), Some("2026-11-01"), vec![7, 3, 7]).unwrap();
        assert_eq!(scope.resources(), [SyncResource::Orders]);
        assert_eq!(scope.modified_after, Some(datetime!(2026-11-01 00:00 UTC)));
        assert_eq!(scope.ids, [3, 7], "sorted, repeats dropped");
        assert_eq!(
            scope.describe(),
            "orders changed since 2026-11-01 00:00 UTC, 2 ids"
        );
        let exact = SyncScope::parse(None, Some("2026-11-01T08:30:00+01:00"), vec![]).unwrap();
        assert_eq!(exact.modified_after, Some(datetime!(2026-11-01 07:30 UTC)));
    }

    #[test]
    fn bad_scopes_are_refused_with_their_code_and_field() {
        let refused = |resource, date, ids| SyncScope::parse(resource, date, ids).unwrap_err();
        let e = refused(Some("coupons"), None, vec![]);
        assert_eq!((e.code(), e.path()), ("unknown_resource", "resource"));
        let e = refused(None, Some("yesterday"), vec![]);
        assert_eq!((e.code(), e.path()), ("invalid_date", "modified_after"));
        assert_eq!(
            refused(None, Some("2026-02-30"), vec![]).code(),
            "invalid_date"
        );
        let e = refused(Some("orders"), None, (1..=1001).collect());
        assert_eq!((e.code(), e.path()), ("too_many_ids", "ids"));
        assert_eq!(refused(None, None, vec![5]).code(), "ids_need_resource");
        assert_eq!(
            refused(Some("guests"), None, vec![5]).code(),
            "ids_need_resource"
        );
        assert_eq!(refused(Some("orders"), None, vec![0]).code(), "invalid_id");
        assert!(SyncScope::parse(Some("orders"), None, (1..=1000).collect()).is_ok());
    }

    #[test]
    fn ids_typed_in_a_form_are_read_up_to_the_limit() {
        assert_eq!(
            SyncScope::parse_ids("12, 13\n14  15,").unwrap(),
            [12, 13, 14, 15]
        );
        assert_eq!(SyncScope::parse_ids("").unwrap(), Vec::<u64>::new());
        assert_eq!(
            SyncScope::parse_ids("12, x").unwrap_err().code(),
            "invalid_id"
        );
        assert_eq!(SyncScope::parse_ids("-4").unwrap_err().code(), "invalid_id");
        let many = (1..=1001)
            .map(|n| n.to_string())
            .collect::<Vec<_>>()
            .join(",");
        assert_eq!(
            SyncScope::parse_ids(&many).unwrap_err().code(),
            "too_many_ids"
        );
    }

    #[test]
    fn an_item_is_sent_when_it_passes_every_part_of_the_scope() {
        let scope = SyncScope::parse(Some("orders"), Some("2026-11-10"), vec![5001, 5002]).unwrap();
        let late = Some(datetime!(2026-11-12 10:00 UTC));
        let early = Some(datetime!(2026-11-02 10:00 UTC));
        assert!(scope.selects(SyncResource::Orders, Some(5001), late));
        assert!(
            !scope.selects(SyncResource::Orders, Some(5003), late),
            "not a named id"
        );
        assert!(
            !scope.selects(SyncResource::Orders, Some(5002), early),
            "too old"
        );
        assert!(
            !scope.selects(SyncResource::Orders, Some(5001), None),
            "no date"
        );
        assert!(
            !scope.selects(SyncResource::Products, Some(5001), late),
            "other resource"
        );
        let full = SyncScope::default();
        assert!(full.selects(SyncResource::Guests, None, None));
    }

    #[test]
    fn a_full_scope_is_written_as_nothing_and_an_empty_object_reads_as_full() {
        assert_eq!(serde_json::to_string(&SyncScope::default()).unwrap(), "{}");
        let read: SyncScope = serde_json::from_str("{}").unwrap();
        assert!(read.is_full());
        let scope = SyncScope::parse(Some("customers"), Some("2026-11-01"), vec![101]).unwrap();
        let json = serde_json::to_value(&scope).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"resource": "customers", "modified_after": "2026-11-01T00:00:00Z", "ids": [101]})
        );
        assert_eq!(serde_json::from_value::<SyncScope>(json).unwrap(), scope);
    }
}
