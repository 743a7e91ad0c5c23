#![doc = include_str!("docs/static-files.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![deny(missing_docs)]
#![warn(missing_debug_implementations, rust_2018_idioms, unreachable_pub)]
#![forbid(unsafe_code)]

mod body;
mod cache_control;
mod coding;
mod disk;
mod files;
mod index;
mod resolve;
mod service;
mod settings;
mod source;
mod startup;
mod stat;

pub use body::FileBody;
pub use cache_control::immutable_if_hashed;
pub use service::{ServeFiles, ServeFuture};
pub use settings::StaticFiles;
pub use settings::{Refresh, StaticFilesBuilder};
pub use source::LookupFuture;
