//! Typed, borrowing and lenient building blocks for the formats' serde types.
//!
//! Scanner output from many versions disagrees about types: an optional field may be a
//! string in one version, a number or an object in another, or `null`. These wrappers read
//! such a field the way the readers always have (a value of another type reads as absent)
//! while deserialising straight from the text: strings borrow from the input where they
//! have no escapes, and a skipped value is never built. Only the lists the format requires
//! to be lists ([`Items`]) fail on another type, with the path `serde_path_to_error` gives.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use ec_domain::shared_text::{SharedText, share};
use serde::de::value::MapAccessDeserializer;
use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// Implements a visitor's methods for the listed kinds of value, each answering `$answer`
/// (a list or an object is read through, as [`Deep`], first): the values a lenient wrapper
/// ignores, or only tells apart by kind.
macro_rules! answer {
    ($value:ty, $answer:expr, [$($kind:ident),*]) => {
        $(answer!(@ $kind, $value, $answer);)*
    };
    (@ bool, $value:ty, $answer:expr) => {
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<$value, E> { Ok($answer) }
    };
    (@ i64, $value:ty, $answer:expr) => {
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<$value, E> { Ok($answer) }
    };
    (@ u64, $value:ty, $answer:expr) => {
        fn visit_u64<E: de::Error>(self, _: u64) -> Result<$value, E> { Ok($answer) }
    };
    (@ f64, $value:ty, $answer:expr) => {
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<$value, E> { Ok($answer) }
    };
    (@ str, $value:ty, $answer:expr) => {
        fn visit_str<E: de::Error>(self, _: &str) -> Result<$value, E> { Ok($answer) }
    };
    (@ unit, $value:ty, $answer:expr) => {
        fn visit_unit<E: de::Error>(self) -> Result<$value, E> { Ok($answer) }
    };
    (@ none, $value:ty, $answer:expr) => {
        fn visit_none<E: de::Error>(self) -> Result<$value, E> { Ok($answer) }
    };
    (@ seq, $value:ty, $answer:expr) => {
        fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<$value, A::Error> {
            drain_seq(seq)?;
            Ok($answer)
        }
    };
    (@ map, $value:ty, $answer:expr) => {
        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<$value, A::Error> {
            drain_map(map)?;
            Ok($answer)
        }
    };
}

/// The scalar kinds, which lenient wrappers other than [`Num`] and [`Whole`] all ignore.
macro_rules! ignore_others {
    ($value:ty, $absent:expr, [$($kind:ident),*]) => {
        answer!($value, $absent, [bool, i64, u64, f64, unit, none $(, $kind)*]);
    };
}

/// A value read only to be skipped, through the reader's nesting limit: serde's
/// `IgnoredAny` skips nested values without one, so a document could nest without bound.
pub struct Deep;

impl<'de> Deserialize<'de> for Deep {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Deep;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any value")
            }
            answer!(Deep, Deep, [bool, i64, u64, f64, str, unit, none, seq, map]);
        }
        d.deserialize_any(V)
    }
}

/// Drains the rest of a sequence, whatever it holds.
fn drain_seq<'de, A: SeqAccess<'de>>(mut seq: A) -> Result<(), A::Error> {
    while seq.next_element::<Deep>()?.is_some() {}
    Ok(())
}

/// Drains the rest of a map, whatever it holds.
fn drain_map<'de, A: MapAccess<'de>>(mut map: A) -> Result<(), A::Error> {
    while map.next_entry::<IgnoredAny, Deep>()?.is_some() {}
    Ok(())
}

/// Reads an object's entries: `pick` reads the value of each key it wants and says so;
/// every other value is skipped as [`Deep`]. A repeated key is read again (the last wins).
pub fn each_entry<'de, A: MapAccess<'de>>(
    mut map: A,
    mut pick: impl FnMut(&str, &mut A) -> Result<bool, A::Error>,
) -> Result<(), A::Error> {
    while let Some(Key(key)) = map.next_key::<Key<'de>>()? {
        if !pick(&key, &mut map)? {
            map.next_value::<Deep>()?;
        }
    }
    Ok(())
}

/// A non-blank string; any other value (or a blank string) reads as absent.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Text<'a>(pub Option<Cow<'a, str>>);

impl<'a> Text<'a> {
    pub fn as_str(&self) -> Option<&str> {
        self.0.as_deref()
    }

    pub fn owned(&self) -> Option<String> {
        self.0.as_deref().map(str::to_string)
    }

    /// As text findings share (through the thread's pool, see `ec_domain::shared_text`).
    pub fn shared(&self) -> Option<SharedText> {
        self.0.as_deref().map(share)
    }
}

fn non_blank(s: &str) -> bool {
    !s.trim().is_empty()
}

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = Text<'a>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any value")
            }
            fn visit_borrowed_str<E: de::Error>(self, s: &'de str) -> Result<Text<'a>, E> {
                Ok(Text(non_blank(s).then_some(Cow::Borrowed(s))))
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Text<'a>, E> {
                Ok(Text(non_blank(s).then(|| Cow::Owned(s.to_string()))))
            }
            fn visit_string<E: de::Error>(self, s: String) -> Result<Text<'a>, E> {
                Ok(Text(non_blank(&s).then_some(Cow::Owned(s))))
            }
            ignore_others!(Text<'a>, Text(None), [seq, map]);
        }
        d.deserialize_any(V(PhantomData))
    }
}

/// The non-blank strings of a list; other items are skipped, and a value that is not a list
/// reads as empty.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Texts<'a>(pub Vec<Cow<'a, str>>);

impl<'a> Texts<'a> {
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|s| s.as_ref())
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Texts<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = Texts<'a>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any value")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Texts<'a>, A::Error> {
                let mut out = Vec::new();
                while let Some(Text(s)) = seq.next_element::<Text<'a>>()? {
                    out.extend(s);
                }
                Ok(Texts(out))
            }
            ignore_others!(Texts<'a>, Texts(Vec::new()), [str, map]);
        }
        d.deserialize_any(V(PhantomData))
    }
}

/// A finite number, or a string holding one; anything else reads as absent.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct Num(pub Option<f64>);

impl<'de> Deserialize<'de> for Num {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Num;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any value")
            }
            fn visit_i64<E: de::Error>(self, n: i64) -> Result<Num, E> {
                Ok(Num(Some(n as f64)))
            }
            fn visit_u64<E: de::Error>(self, n: u64) -> Result<Num, E> {
                Ok(Num(Some(n as f64)))
            }
            fn visit_f64<E: de::Error>(self, n: f64) -> Result<Num, E> {
                Ok(Num(n.is_finite().then_some(n)))
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Num, E> {
                Ok(Num(s.trim().parse::<f64>().ok().filter(|f| f.is_finite())))
            }
            answer!(Num, Num(None), [bool, unit, none, seq, map]);
        }
        d.deserialize_any(V)
    }
}

/// An unsigned integer (a non-negative whole JSON number); anything else reads as absent.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct Whole(pub Option<u64>);

impl<'de> Deserialize<'de> for Whole {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Whole;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any value")
            }
            fn visit_u64<E: de::Error>(self, n: u64) -> Result<Whole, E> {
                Ok(Whole(Some(n)))
            }
            fn visit_i64<E: de::Error>(self, n: i64) -> Result<Whole, E> {
                Ok(Whole(u64::try_from(n).ok()))
            }
            answer!(Whole, Whole(None), [f64, str, bool, unit, none, seq, map]);
        }
        d.deserialize_any(V)
    }
}

/// `T` when the value is an object; any other value reads as absent.
#[derive(Debug, Clone, PartialEq)]
pub struct Obj<T>(pub Option<T>);

impl<T> Default for Obj<T> {
    fn default() -> Self {
        Obj(None)
    }
}

impl<T> Obj<T> {
    pub fn get(&self) -> Option<&T> {
        self.0.as_ref()
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Obj<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = Obj<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any value")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Obj<T>, A::Error> {
                T::deserialize(MapAccessDeserializer::new(map)).map(|t| Obj(Some(t)))
            }
            ignore_others!(Obj<T>, Obj(None), [str, seq]);
        }
        d.deserialize_any(V(PhantomData))
    }
}

/// A list whose items each read as `T` (itself lenient: [`Obj`], [`Text`]…); a value that
/// is not a list reads as empty.
#[derive(Debug, Clone, PartialEq)]
pub struct List<T>(pub Vec<T>);

impl<T> Default for List<T> {
    fn default() -> Self {
        List(Vec::new())
    }
}

impl<T> List<T> {
    pub fn iter(&self) -> std::slice::Iter<'_, T> {
        self.0.iter()
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for List<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = List<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any value")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<List<T>, A::Error> {
                let mut out = Vec::new();
                while let Some(item) = seq.next_element::<T>()? {
                    out.push(item);
                }
                Ok(List(out))
            }
            ignore_others!(List<T>, List(Vec::new()), [str, map]);
        }
        d.deserialize_any(V(PhantomData))
    }
}

/// How many items a list has (whatever they are); a value that is not a list has none.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct Count(pub usize);

impl<'de> Deserialize<'de> for Count {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Count;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any value")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Count, A::Error> {
                let mut n = 0;
                while seq.next_element::<Deep>()?.is_some() {
                    n += 1;
                }
                Ok(Count(n))
            }
            ignore_others!(Count, Count(0), [str, map]);
        }
        d.deserialize_any(V)
    }
}

/// A list the format requires: absent or `null` reads as empty, any other non-list value is
/// an error, and every item must be an object that reads as `T`.
#[derive(Debug, Clone, PartialEq)]
pub struct Items<T>(pub Vec<T>);

impl<T> Default for Items<T> {
    fn default() -> Self {
        Items(Vec::new())
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Items<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let Array(items) = Array::<Object<T>>::deserialize(d)?;
        Ok(Items(items.into_iter().map(|Object(item)| item).collect()))
    }
}

/// A list the format requires whose items each read as `T` (itself lenient, e.g. an
/// [`Obj`]): absent or `null` reads as empty, any other non-list value is an error.
#[derive(Debug, Clone, PartialEq)]
pub struct Array<T>(pub Vec<T>);

impl<T> Default for Array<T> {
    fn default() -> Self {
        Array(Vec::new())
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Array<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = Array<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an array")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Array<T>, A::Error> {
                let mut out = Vec::new();
                while let Some(item) = seq.next_element::<T>()? {
                    out.push(item);
                }
                Ok(Array(out))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Array<T>, E> {
                Ok(Array(Vec::new()))
            }
            fn visit_none<E: de::Error>(self) -> Result<Array<T>, E> {
                Ok(Array(Vec::new()))
            }
        }
        d.deserialize_any(V(PhantomData))
    }
}

/// `T` read from an object, and only from an object (a derived struct would also read an
/// array, positionally).
pub struct Object<T>(pub T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Object<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = Object<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Object<T>, A::Error> {
                T::deserialize(MapAccessDeserializer::new(map)).map(Object)
            }
        }
        d.deserialize_map(V(PhantomData))
    }
}

/// A value that is either a string or an object: `Text` for a string, `T` for an object,
/// neither for anything else.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum TextOr<'a, T> {
    Text(Text<'a>),
    Object(T),
    #[default]
    Neither,
}

impl<'de: 'a, 'a, T: Deserialize<'de>> Deserialize<'de> for TextOr<'a, T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a, T>(PhantomData<(&'a (), T)>);
        impl<'de: 'a, 'a, T: Deserialize<'de>> Visitor<'de> for V<'a, T> {
            type Value = TextOr<'a, T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any value")
            }
            fn visit_borrowed_str<E: de::Error>(self, s: &'de str) -> Result<Self::Value, E> {
                Ok(TextOr::Text(Text(non_blank(s).then_some(Cow::Borrowed(s)))))
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Self::Value, E> {
                Ok(TextOr::Text(Text(
                    non_blank(s).then(|| Cow::Owned(s.to_string())),
                )))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                T::deserialize(MapAccessDeserializer::new(map)).map(TextOr::Object)
            }
            ignore_others!(TextOr<'a, T>, TextOr::Neither, [seq]);
        }
        d.deserialize_any(V(PhantomData))
    }
}

/// A value that is either a list (its items read as `T`) or an object (read as `O`), e.g.
/// CycloneDX's `metadata.tools`; anything else is neither.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum ListOr<T, O> {
    List(Vec<T>),
    Object(O),
    #[default]
    Neither,
}

impl<'de, T: Deserialize<'de>, O: Deserialize<'de>> Deserialize<'de> for ListOr<T, O> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T, O>(PhantomData<(T, O)>);
        impl<'de, T: Deserialize<'de>, O: Deserialize<'de>> Visitor<'de> for V<T, O> {
            type Value = ListOr<T, O>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any value")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::new();
                while let Some(item) = seq.next_element::<T>()? {
                    out.push(item);
                }
                Ok(ListOr::List(out))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                O::deserialize(MapAccessDeserializer::new(map)).map(ListOr::Object)
            }
            ignore_others!(ListOr<T, O>, ListOr::Neither, [str]);
        }
        d.deserialize_any(V(PhantomData))
    }
}

/// A field read as `T` that remembers whether it was there at all (`null` included): with
/// `#[serde(default)]`, an absent field is `present: false`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Present<T> {
    pub present: bool,
    pub value: T,
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Present<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        T::deserialize(d).map(|value| Present {
            present: true,
            value,
        })
    }
}

/// A map whose keys are kept in the order given and whose values read as `T` (each value
/// leniently, as `T` decides); a value that is not an object reads as empty.
#[derive(Debug, Clone, PartialEq)]
pub struct Entries<'a, T>(pub Vec<(Cow<'a, str>, T)>);

impl<T> Default for Entries<'_, T> {
    fn default() -> Self {
        Entries(Vec::new())
    }
}

impl<'de: 'a, 'a, T: Deserialize<'de>> Deserialize<'de> for Entries<'a, T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a, T>(PhantomData<(&'a (), T)>);
        impl<'de: 'a, 'a, T: Deserialize<'de>> Visitor<'de> for V<'a, T> {
            type Value = Entries<'a, T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any value")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut out: Vec<(Cow<'a, str>, T)> = Vec::new();
                while let Some(key) = map.next_key::<Key<'a>>()? {
                    let value = map.next_value::<T>()?;
                    // A repeated key keeps its last value, as a JSON object model does.
                    match out.iter_mut().find(|(k, _)| *k == key.0) {
                        Some(slot) => slot.1 = value,
                        None => out.push((key.0, value)),
                    }
                }
                Ok(Entries(out))
            }
            ignore_others!(Entries<'a, T>, Entries(Vec::new()), [str, seq]);
        }
        d.deserialize_any(V(PhantomData))
    }
}

/// A map key, borrowed where it has no escapes.
struct Key<'a>(Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for Key<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = Key<'a>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a key")
            }
            fn visit_borrowed_str<E: de::Error>(self, s: &'de str) -> Result<Key<'a>, E> {
                Ok(Key(Cow::Borrowed(s)))
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Key<'a>, E> {
                Ok(Key(Cow::Owned(s.to_string())))
            }
            fn visit_string<E: de::Error>(self, s: String) -> Result<Key<'a>, E> {
                Ok(Key(Cow::Owned(s)))
            }
        }
        d.deserialize_str(V(PhantomData))
    }
}

/// Whether a value is present and what JSON type it has (the detection reads only this).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    #[default]
    Absent,
    Null,
    Array,
    Other,
}

impl<'de> Deserialize<'de> for Kind {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Kind;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any value")
            }
            answer!(Kind, Kind::Array, [seq]);
            answer!(Kind, Kind::Null, [unit, none]);
            answer!(Kind, Kind::Other, [bool, i64, u64, f64, str, map]);
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests;
