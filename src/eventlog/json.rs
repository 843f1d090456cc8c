//! The JSON the `evtx` crate renders for one record, read into an order-keeping tree, and the
//! record's System section and data fields pulled out of it. Only selected records get here
//! (see `template`), so this is not on the bulk path.

use serde::Deserialize;
use serde::de::{self, MapAccess, SeqAccess, Visitor};
use std::fmt;

/// A JSON value that keeps object keys in document order (EventData order matters for display,
/// and serde_json's own map sorts them).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum JNode {
    Null,
    Scalar(String),
    Array(Vec<JNode>),
    Object(Vec<(String, JNode)>),
}

impl<'de> Deserialize<'de> for JNode {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<JNode, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = JNode;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON value")
            }
            fn visit_unit<E>(self) -> Result<JNode, E> {
                Ok(JNode::Null)
            }
            fn visit_none<E>(self) -> Result<JNode, E> {
                Ok(JNode::Null)
            }
            fn visit_bool<E>(self, v: bool) -> Result<JNode, E> {
                Ok(JNode::Scalar(if v { "true" } else { "false" }.into()))
            }
            fn visit_i64<E>(self, v: i64) -> Result<JNode, E> {
                Ok(JNode::Scalar(v.to_string()))
            }
            fn visit_u64<E>(self, v: u64) -> Result<JNode, E> {
                Ok(JNode::Scalar(v.to_string()))
            }
            fn visit_f64<E>(self, v: f64) -> Result<JNode, E> {
                Ok(JNode::Scalar(v.to_string()))
            }
            fn visit_str<E>(self, v: &str) -> Result<JNode, E> {
                Ok(JNode::Scalar(v.to_string()))
            }
            fn visit_string<E>(self, v: String) -> Result<JNode, E> {
                Ok(JNode::Scalar(v))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<JNode, A::Error> {
                let mut out = Vec::new();
                while let Some(v) = seq.next_element::<JNode>()? {
                    out.push(v);
                }
                Ok(JNode::Array(out))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<JNode, A::Error> {
                let mut out = Vec::new();
                while let Some((k, v)) = map.next_entry::<String, JNode>()? {
                    out.push((k, v));
                }
                Ok(JNode::Object(out))
            }
        }
        d.deserialize_any(V)
    }
}

impl JNode {
    pub(crate) fn get(&self, key: &str) -> Option<&JNode> {
        match self {
            JNode::Object(entries) => entries.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The text of an element: a scalar, or the `#text` of an element with attributes.
    pub(crate) fn text(&self) -> Option<String> {
        match self {
            JNode::Scalar(s) => Some(s.clone()),
            JNode::Object(_) => self.get("#text").and_then(JNode::text),
            JNode::Array(items) => {
                let parts: Vec<String> = items.iter().filter_map(JNode::text).collect();
                (!parts.is_empty()).then(|| parts.join(""))
            }
            JNode::Null => None,
        }
    }

    pub(crate) fn attr(&self, name: &str) -> Option<String> {
        self.get("#attributes")?.get(name)?.text()
    }
}

/// One field of EventData or UserData: its name (`FileNameBuffer`, `param1`), or none for the
/// unnamed `<Data>` of classic providers, and its value as rendered.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Field {
    pub name: Option<String>,
    pub value: String,
}

/// Flatten an EventData/UserData element into fields, in document order.
pub(crate) fn flatten_data(node: &JNode, prefix: Option<&str>, out: &mut Vec<Field>) {
    match node {
        JNode::Object(entries) => {
            for (k, v) in entries {
                if k == "#attributes" {
                    continue;
                }
                if k == "Data" || k == "#text" {
                    // Unnamed <Data> elements: one value, or an array of them.
                    push_unnamed(v, prefix, out);
                    continue;
                }
                match v {
                    JNode::Object(_) if v.get("#text").is_none() => {
                        flatten_data(v, Some(k), out);
                    }
                    JNode::Array(items) => {
                        for item in items {
                            out.push(Field {
                                name: Some(k.clone()),
                                value: item.text().unwrap_or_default(),
                            });
                        }
                    }
                    other => out.push(Field {
                        name: Some(k.clone()),
                        value: other.text().unwrap_or_default(),
                    }),
                }
            }
        }
        other => push_unnamed(other, prefix, out),
    }
}

fn push_unnamed(v: &JNode, prefix: Option<&str>, out: &mut Vec<Field>) {
    let name = prefix
        .filter(|p| *p != "EventData" && *p != "Data")
        .map(str::to_string);
    match v {
        JNode::Array(items) => {
            for item in items {
                out.push(Field {
                    name: name.clone(),
                    value: item.text().unwrap_or_default(),
                });
            }
        }
        JNode::Object(_) => match v.get("#text") {
            Some(JNode::Array(items)) => {
                for item in items {
                    out.push(Field {
                        name: name.clone(),
                        value: item.text().unwrap_or_default(),
                    });
                }
            }
            Some(t) => out.push(Field {
                name,
                value: t.text().unwrap_or_default(),
            }),
            None => out.push(Field {
                name,
                value: String::new(),
            }),
        },
        JNode::Null => out.push(Field {
            name,
            value: String::new(),
        }),
        JNode::Scalar(s) => out.push(Field {
            name,
            value: s.clone(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn named_and_unnamed_data_flatten_in_order() {
        let j: JNode = serde_json::from_str(
            r##"{"EventData":{"Zeta":"1","Alpha":2,"Data":{"#text":["a","b"]},"Binary":"4100"}}"##,
        )
        .expect("json");
        let mut out = Vec::new();
        flatten_data(j.get("EventData").expect("ed"), Some("EventData"), &mut out);
        let got: Vec<(Option<&str>, &str)> = out
            .iter()
            .map(|f| (f.name.as_deref(), f.value.as_str()))
            .collect();
        assert_eq!(
            got,
            vec![
                (Some("Zeta"), "1"),
                (Some("Alpha"), "2"),
                (None, "a"),
                (None, "b"),
                (Some("Binary"), "4100")
            ]
        );
    }
}
