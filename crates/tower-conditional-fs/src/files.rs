//! The services that serve [`StaticFiles`]: the whole site, and the file service alone.

use std::sync::Arc;

use tower_conditional::Conditional;

use crate::service::ServeFiles;
use crate::settings::StaticFiles;

impl StaticFiles {
    /// The whole static site: [`ConditionalLayer`](tower_conditional::ConditionalLayer) with these files as its source, in front of
    /// [`ServeFiles`]. Revalidations are answered from memory; everything else is served from
    /// disk with the tag of the bytes sent.
    pub fn service(&self) -> Conditional<ServeFiles, StaticFiles> {
        Conditional::new(self.serve_files(), self.clone())
    }

    /// The file service alone, to put behind a
    /// [`ConditionalLayer`](tower_conditional::ConditionalLayer) configured by hand (it is
    /// correct without one too, opening the file for every request).
    pub fn serve_files(&self) -> ServeFiles {
        ServeFiles {
            inner: Arc::clone(&self.inner),
        }
    }
}
