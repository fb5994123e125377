//! Lenient readers for WooCommerce JSON, in one place so that a fix repairs history on replay:
//! money as a decimal from a string or a number (never through f64), ids that arrive as strings,
//! `*_gmt` dates without an offset, and empty objects that PHP encodes as `[]`.
//!
//! The readers that look at a value's JSON text first borrow it from the input (`&RawValue`)
//! instead of copying it into a box: every event is read this way by the ingest check and by
//! several projections, and the copy of a cart was a large part of reading one. So the types
//! that use them read from text (`serde_json::from_str`, `from_slice`), not from a `Value`.

use std::fmt;
use std::str::FromStr;

use rust_decimal::Decimal;
use serde::de::{self, DeserializeOwned, Deserializer, IgnoredAny, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use serde_json::value::RawValue;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{OffsetDateTime, PrimitiveDateTime};

/// An amount of money, exactly as the store wrote it: `"9.00"` stays `9.00` (its scale is kept
/// through sums).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Money(pub Decimal);

impl Money {
    pub const ZERO: Money = Money(Decimal::ZERO);
    /// No amount a store sends is larger than 10^15 in its currency: a bound that keeps every
    /// sum the read models make (an order's refunds, a subscriber's orders) far from the
    /// decimal type's limit of about 7.9 × 10^28, so none of them can overflow.
    pub const MAX_ABS: Decimal = Decimal::from_parts(0xA4C6_8000, 0x0003_8D7E, 0, false, 0);
    /// Minor units a currency may have (ISO 4217 has at most 4; crypto stores use up to 8).
    pub const MAX_MINOR_UNIT: u32 = 12;

    fn bounded(value: Decimal) -> Option<Money> {
        (value.abs() <= Self::MAX_ABS).then_some(Money(value))
    }

    /// Reads `"29.35"`, `29.35`, `"18000"`, `"-10.00"`, `1e2`; `None` for `""` and `null`.
    pub fn parse_json(raw: &str) -> Result<Option<Money>, String> {
        let text = raw.trim();
        let text = match text.strip_prefix('"').and_then(|t| t.strip_suffix('"')) {
            Some(inner) => inner.trim(),
            None if text == "null" => return Ok(None),
            None => text,
        };
        if text.is_empty() {
            return Ok(None);
        }
        let value = Decimal::from_str(text)
            .or_else(|_| Decimal::from_scientific(text))
            .map_err(|_| format!("{text:?} is not an amount of money"))?;
        Money::bounded(value)
            .map(Some)
            .ok_or_else(|| format!("{text:?} is beyond the largest amount, 10^15"))
    }

    /// The same amount without trailing zeros (`5.00` → `5`): one spelling for comparing and storing.
    pub fn normalized(self) -> Money {
        Money(self.0.normalize())
    }

    /// Shown with at least the decimals of `like` (`19` like `"39.00"` → `19.00`), so that amounts
    /// of one order read alike.
    pub fn with_scale_of(self, like: &str) -> Money {
        let scale = Money::parse_json(like)
            .ok()
            .flatten()
            .map_or(0, |m| m.0.scale());
        let mut value = self.0;
        if value.scale() < scale {
            value.rescale(scale);
        }
        Money(value)
    }

    /// An amount in minor units (`"8256"` with minor unit 2 is 82.56), as the Store API sends it.
    /// `None` when it is not a number, its minor unit is beyond [`Self::MAX_MINOR_UNIT`] or the
    /// amount beyond [`Self::MAX_ABS`].
    pub fn from_minor(minor: &str, minor_unit: u32) -> Option<Money> {
        if minor_unit > Self::MAX_MINOR_UNIT {
            return None;
        }
        let mut value = Decimal::from_str(minor.trim()).ok()?;
        value
            .set_scale(value.scale().checked_add(minor_unit)?)
            .ok()?;
        Money::bounded(value)
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl std::ops::Add for Money {
    type Output = Money;
    fn add(self, other: Money) -> Money {
        Money(self.0 + other.0)
    }
}

impl Serialize for Money {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&self.0)
    }
}

/// Money that may be absent (`""`, `null`) reads as `None`.
fn raw_money<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Money>, D::Error> {
    let raw = <&RawValue>::deserialize(deserializer)?;
    Money::parse_json(raw.get()).map_err(de::Error::custom)
}

pub mod money {
    //! `#[serde(with = "money")]` for `Option<Money>` fields.
    use super::*;

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<Money>, D::Error> {
        raw_money(deserializer)
    }

    pub fn serialize<S: Serializer>(
        value: &Option<Money>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        value.serialize(serializer)
    }
}

/// A currency's minor unit (`2` for cents), at most [`Money::MAX_MINOR_UNIT`].
pub fn minor_unit<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u32, D::Error> {
    let unit = u32::deserialize(deserializer)?;
    if unit > Money::MAX_MINOR_UNIT {
        return Err(de::Error::custom(format!(
            "a currency has at most {} minor units, not {unit}",
            Money::MAX_MINOR_UNIT
        )));
    }
    Ok(unit)
}

/// A WooCommerce id: a non-negative integer, sometimes sent as a string. `0` means "none" (a
/// guest's customer id, a top-level product's parent).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct WooId(pub u64);

impl<'de> Deserialize<'de> for WooId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct IdVisitor;
        impl Visitor<'_> for IdVisitor {
            type Value = WooId;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an id: a non-negative integer or a string of digits")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<WooId, E> {
                // Stored as SQLite integers: anything above i64::MAX is not a WooCommerce id.
                i64::try_from(v)
                    .map(|_| WooId(v))
                    .map_err(|_| E::custom("an id is below 2^63"))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<WooId, E> {
                u64::try_from(v)
                    .map(WooId)
                    .map_err(|_| E::custom("an id cannot be negative"))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<WooId, E> {
                match v.trim() {
                    "" => Ok(WooId(0)),
                    digits => digits
                        .parse::<i64>()
                        .ok()
                        .and_then(|id| u64::try_from(id).ok())
                        .map(WooId)
                        .ok_or_else(|| E::custom(format!("{v:?} is not an id"))),
                }
            }
            fn visit_unit<E: de::Error>(self) -> Result<WooId, E> {
                Ok(WooId(0))
            }
        }
        deserializer.deserialize_any(IdVisitor)
    }
}

impl fmt::Display for WooId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// The earliest and latest moments a store's date may name. Outside them a date cannot be
/// written as RFC 3339 in every offset (years 0 to 9999), so it would be stored and then fail
/// every reader; no shop sold anything before 1900.
pub const EARLIEST: OffsetDateTime = time::macros::datetime!(1900-01-01 00:00 UTC);
pub const LATEST: OffsetDateTime = time::macros::datetime!(9998-12-31 00:00 UTC);

/// Parses a WooCommerce date: `2017-03-22T19:28:02` (UTC when read from a `*_gmt` field), or a
/// full RFC 3339 time with an offset. `null`, `""` and moments outside [`EARLIEST`]..=[`LATEST`]
/// are `None`.
pub fn parse_date(text: &str) -> Option<OffsetDateTime> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    let at = OffsetDateTime::parse(text, &Rfc3339).ok().or_else(|| {
        let format = format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]");
        let without_fraction = text.split('.').next().unwrap_or(text);
        PrimitiveDateTime::parse(without_fraction, format)
            .ok()
            .map(PrimitiveDateTime::assume_utc)
    })?;
    (EARLIEST..=LATEST).contains(&at).then_some(at)
}

pub mod gmt_date {
    //! `#[serde(default, with = "gmt_date")]` for `Option<OffsetDateTime>` fields read from `*_gmt`.
    use super::*;

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<OffsetDateTime>, D::Error> {
        let text: Option<String> = Option::deserialize(deserializer)?;
        match text.as_deref().map(str::trim) {
            None | Some("") => Ok(None),
            Some(text) => parse_date(text)
                .map(Some)
                .ok_or_else(|| de::Error::custom(format!("{text:?} is not a date"))),
        }
    }

    pub fn serialize<S: Serializer>(
        value: &Option<OffsetDateTime>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match value {
            Some(at) => time::serde::rfc3339::serialize(at, serializer),
            None => serializer.serialize_none(),
        }
    }
}

/// An object field that PHP may send as `[]` when empty (or `null`): read as the default.
pub fn object_or_empty<'de, D: Deserializer<'de>, T: DeserializeOwned + Default>(
    deserializer: D,
) -> Result<T, D::Error> {
    let raw = <&RawValue>::deserialize(deserializer)?;
    match raw.get().trim() {
        "[]" | "null" => Ok(T::default()),
        text => serde_json::from_str(text).map_err(de::Error::custom),
    }
}

/// A list field that may be missing, `null` or, from some plugins, an object keyed "0", "1", ….
pub fn list_or_empty<'de, D: Deserializer<'de>, T: DeserializeOwned>(
    deserializer: D,
) -> Result<Vec<T>, D::Error> {
    let raw = <&RawValue>::deserialize(deserializer)?;
    let text = raw.get().trim();
    if text == "null" || text == "{}" {
        return Ok(Vec::new());
    }
    if text.starts_with('{') {
        let map: std::collections::BTreeMap<String, T> =
            serde_json::from_str(text).map_err(de::Error::custom)?;
        return Ok(map.into_values().collect());
    }
    serde_json::from_str(text).map_err(de::Error::custom)
}

/// Text that may arrive as a string, a number or `null`; anything else is ignored as empty.
pub fn text<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    let raw = <&RawValue>::deserialize(deserializer)?;
    let text = raw.get().trim();
    if text.starts_with('"') {
        return serde_json::from_str(text).map_err(de::Error::custom);
    }
    if text.starts_with(|c: char| c == '-' || c.is_ascii_digit()) {
        return Ok(text.to_owned());
    }
    let _: IgnoredAny = serde_json::from_str(text).map_err(de::Error::custom)?;
    Ok(String::new())
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    #[test]
    fn money_reads_strings_and_numbers_exactly() {
        let parse = |raw: &str| Money::parse_json(raw).unwrap().map(|m| m.to_string());
        assert_eq!(parse(r#""29.35""#).as_deref(), Some("29.35"));
        assert_eq!(parse("29.35").as_deref(), Some("29.35"));
        assert_eq!(parse("0.00").as_deref(), Some("0.00"));
        assert_eq!(parse(r#""-10.00""#).as_deref(), Some("-10.00"));
        assert_eq!(parse(r#""18000""#).as_deref(), Some("18000"));
        assert_eq!(parse("1e2").as_deref(), Some("100"));
        assert_eq!(
            parse("0.1").as_deref(),
            Some("0.1"),
            "no binary floating point on the way"
        );
        assert_eq!(parse(r#""""#), None);
        assert_eq!(parse("null"), None);
        assert!(Money::parse_json(r#""abc""#).is_err());
    }

    #[test]
    fn amounts_normalise_for_storage_and_take_a_scale_for_display() {
        let money = |text: &str| Money::parse_json(text).unwrap().unwrap();
        assert_eq!(money(r#""5.00""#).normalized(), money("5").normalized());
        assert_eq!(money("19").with_scale_of("39.00").to_string(), "19.00");
        assert_eq!(money("19.125").with_scale_of("39.00").to_string(), "19.125");
        assert_eq!(money("19").with_scale_of("18000").to_string(), "19");
    }

    #[test]
    fn amounts_beyond_the_bound_are_refused_so_no_sum_overflows() {
        let largest = "1000000000000000";
        assert_eq!(
            Money::parse_json(largest).unwrap().unwrap().to_string(),
            largest
        );
        for beyond in [
            "-79228162514264337593543950335",
            "79228162514264337593543950335",
            "\"1000000000000000.01\"",
            "1e16",
        ] {
            assert!(Money::parse_json(beyond).is_err(), "{beyond} accepted");
        }
        assert_eq!(Money::from_minor("8256", 4_294_967_295), None);
        assert_eq!(Money::from_minor("8256", Money::MAX_MINOR_UNIT + 1), None);
        assert_eq!(Money::from_minor("79228162514264337593543950335", 2), None);
        let max = Money::parse_json(largest).unwrap().unwrap();
        let many = (0..1_000_000).fold(Money::ZERO, |sum, _| sum + max);
        assert!(many.0 > max.0);
    }

    #[test]
    fn dates_outside_the_years_a_store_can_name_are_refused() {
        for outside in [
            "-0001-01-01T00:00:00",
            "0000-01-01T00:30:00+01:00",
            "0001-01-01T00:00:00Z",
            "1899-12-31T23:59:59Z",
            "9999-12-31T23:59:59-23:59",
        ] {
            assert_eq!(parse_date(outside), None, "{outside}");
        }
        assert!(parse_date("1900-01-01T00:00:00").is_some());
        assert!(parse_date("2026-11-27T09:00:00+01:00").is_some());
    }

    #[test]
    fn store_api_minor_units_become_money() {
        assert_eq!(Money::from_minor("8256", 2).unwrap().to_string(), "82.56");
        assert_eq!(Money::from_minor("18000", 0).unwrap().to_string(), "18000");
        assert_eq!(Money::from_minor("5", 2).unwrap().to_string(), "0.05");
        assert_eq!(Money::from_minor("x", 2), None);
        assert_eq!(
            Money::from_minor("8256", 29),
            None,
            "beyond a decimal's 28 places"
        );
        assert_eq!(
            Money::from_minor("82.5", u32::MAX),
            None,
            "the scale must not wrap"
        );
    }

    #[test]
    fn ids_read_from_numbers_and_strings() {
        let id = |json: &str| serde_json::from_str::<WooId>(json);
        assert_eq!(id("727").unwrap(), WooId(727));
        assert_eq!(id(r#""727""#).unwrap(), WooId(727));
        assert_eq!(id("null").unwrap(), WooId(0));
        assert!(id("-1").is_err());
        assert!(
            id("9223372036854775808").is_err(),
            "ids are stored as SQLite integers"
        );
        assert!(id(r#""9223372036854775808""#).is_err());
        assert!(id(r#""7a""#).is_err());
    }

    #[test]
    fn gmt_dates_without_offset_are_utc() {
        assert_eq!(
            parse_date("2017-03-22T19:28:02"),
            Some(datetime!(2017-03-22 19:28:02 UTC))
        );
        assert_eq!(
            parse_date("2017-03-22T19:28:02.123"),
            Some(datetime!(2017-03-22 19:28:02 UTC))
        );
        assert_eq!(
            parse_date("2017-03-22T21:28:02+02:00"),
            Some(datetime!(2017-03-22 19:28:02 UTC))
        );
        assert_eq!(parse_date(""), None);
        assert_eq!(parse_date("yesterday"), None);
    }
}
