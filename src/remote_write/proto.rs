//! The Prometheus remote-write 1.0 wire format: a protobuf `WriteRequest` (only the fields
//! this exporter sends), compressed with snappy's block format (not the framed format).
//!
//! ```text
//! message WriteRequest { repeated TimeSeries timeseries = 1; }
//! message TimeSeries   { repeated Label labels = 1; repeated Sample samples = 2; }
//! message Label        { string name = 1; string value = 2; }
//! message Sample       { double value = 1; int64 timestamp = 2; }  // milliseconds
//! ```

use std::sync::Arc;

/// `prometheus.WriteRequest`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct WriteRequest {
    #[prost(message, repeated, tag = "1")]
    pub timeseries: Vec<TimeSeries>,
}

/// `prometheus.TimeSeries`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct TimeSeries {
    /// Sorted by name; `__name__` is one of them.
    #[prost(message, repeated, tag = "1")]
    pub labels: Vec<Label>,
    /// Oldest first.
    #[prost(message, repeated, tag = "2")]
    pub samples: Vec<Sample>,
}

/// `prometheus.Label`.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Message)]
pub struct Label {
    #[prost(string, tag = "1")]
    pub name: String,
    #[prost(string, tag = "2")]
    pub value: String,
}

/// `prometheus.Sample`.
#[derive(Clone, Copy, PartialEq, prost::Message)]
pub struct Sample {
    #[prost(double, tag = "1")]
    pub value: f64,
    /// Unix milliseconds.
    #[prost(int64, tag = "2")]
    pub timestamp: i64,
}

/// One series' samples waiting to be sent. Labels are shared between the batches that
/// carry the same series.
#[derive(Clone, Debug, PartialEq)]
pub struct SeriesSamples {
    pub labels: Arc<Vec<Label>>,
    pub samples: Vec<Sample>,
}

/// A label set sorted by name, as remote write requires.
///
/// ```
/// use pantheon_metrics::remote_write::proto::labels;
/// let l = labels(&[("name", "a"), ("__name__", "pantheon_visits"), ("account", "x")]);
/// let names: Vec<&str> = l.iter().map(|l| l.name.as_str()).collect();
/// assert_eq!(names, ["__name__", "account", "name"]);
/// ```
pub fn labels(pairs: &[(&str, &str)]) -> Vec<Label> {
    let mut out: Vec<Label> = pairs
        .iter()
        .map(|(n, v)| Label {
            name: (*n).to_string(),
            value: (*v).to_string(),
        })
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

/// The request body: the protobuf `WriteRequest` of `series`, snappy block-compressed.
pub fn encode(series: &[SeriesSamples]) -> Vec<u8> {
    let request = WriteRequest {
        timeseries: series
            .iter()
            .map(|s| TimeSeries {
                labels: s.labels.as_ref().clone(),
                samples: s.samples.clone(),
            })
            .collect(),
    };
    let raw = prost::Message::encode_to_vec(&request);
    // Compressing into a Vec cannot fail but for inputs over 4 GiB, far beyond a batch.
    snap::raw::Encoder::new()
        .compress_vec(&raw)
        .unwrap_or_default()
}

/// Why a body could not be read back.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("not a snappy block: {0}")]
    Snappy(#[from] snap::Error),
    #[error("not a WriteRequest: {0}")]
    Protobuf(#[from] prost::DecodeError),
}

/// Reads a body made by [`encode`] (or any remote-write 1.0 sender); tests and fake
/// receivers use it.
pub fn decode(body: &[u8]) -> Result<WriteRequest, DecodeError> {
    let raw = snap::raw::Decoder::new().decompress_vec(body)?;
    Ok(prost::Message::decode(raw.as_slice())?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoded_body_decodes_to_the_same_series() {
        let a = Arc::new(labels(&[
            ("__name__", "pantheon_visits"),
            ("account", "ops@example.com"),
            ("label", "Ada's \"Best\" blog\nCafé ☕"),
            ("name", "ada"),
            ("plan", "Basic"),
        ]));
        let series = vec![
            SeriesSamples {
                labels: a.clone(),
                samples: vec![
                    Sample {
                        value: 837.0,
                        timestamp: 1_762_732_800_000,
                    },
                    Sample {
                        value: 3.86,
                        timestamp: 1_762_819_200_000,
                    },
                ],
            },
            SeriesSamples {
                labels: a,
                samples: vec![Sample {
                    value: 0.0,
                    timestamp: -1,
                }],
            },
        ];
        let body = encode(&series);
        // Snappy's block format starts with the uncompressed length as a varint.
        let raw_len = snap::raw::decompress_len(&body).unwrap();
        assert!(raw_len > 0);
        let back = decode(&body).unwrap();
        assert_eq!(back.timeseries.len(), 2);
        for (got, want) in back.timeseries.iter().zip(&series) {
            assert_eq!(&got.labels, want.labels.as_ref());
            assert_eq!(got.samples, want.samples);
        }
    }

    #[test]
    fn wire_bytes_follow_the_protobuf_schema() {
        // Hand-encoded: WriteRequest{timeseries: [{labels: [{name:"a", value:"b"}],
        // samples: [{value: 1.0, timestamp: 2}]}]}.
        let series = vec![SeriesSamples {
            labels: Arc::new(labels(&[("a", "b")])),
            samples: vec![Sample {
                value: 1.0,
                timestamp: 2,
            }],
        }];
        let raw = snap::raw::Decoder::new()
            .decompress_vec(&encode(&series))
            .unwrap();
        let expected: Vec<u8> = [
            &[0x0a, 0x15][..],                                 // field 1 (timeseries), 21 bytes
            &[0x0a, 0x06, 0x0a, 0x01, b'a', 0x12, 0x01, b'b'], // labels
            &[0x12, 0x0b, 0x09],                               // samples, 11 bytes; field 1 double
            &1.0f64.to_le_bytes(),
            &[0x10, 0x02], // field 2 varint 2
        ]
        .concat();
        assert_eq!(raw, expected);
    }

    #[test]
    fn garbage_is_a_decode_error() {
        assert!(decode(b"\xff\xff\xff\xff\xff").is_err());
        let not_proto = snap::raw::Encoder::new().compress_vec(b"\xff\xff").unwrap();
        assert!(decode(&not_proto).is_err());
    }
}
