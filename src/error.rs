//! The crate's one error type. Every variant has a stable `code()` that the web facade passes
//! to JavaScript as `AttuneError.code`; messages may change, codes may not.

use thiserror::Error;

pub type Result<T, E = AttuneError> = std::result::Result<T, E>;

#[derive(Debug, Error, Clone, PartialEq)]
pub enum AttuneError {
    /// A caller passed something unusable (wrong shape, out-of-range option, bad id).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// The model file is truncated, corrupt, or not GGUF at all.
    #[error("malformed model file: {0}")]
    ModelFormat(String),
    /// A well-formed file that this build cannot run (architecture, tensor type, missing key).
    #[error("unsupported model: {0}")]
    ModelUnsupported(String),
    /// The tokenizer stored in the model could not be built or failed on an input.
    #[error("tokenizer: {0}")]
    Tokenizer(String),
    /// A chat template (the model's Jinja `tokenizer.chat_template`) failed to compile or to
    /// render these messages (including the template's own `raise_exception`).
    #[error("chat template: {0}")]
    ChatTemplate(String),
    /// An input is larger than the SDK accepts.
    #[error("input too large: {0}")]
    InputTooLarge(String),
    /// A backend failed to run an op (out of memory, lost device, limits).
    #[error("compute: {0}")]
    Compute(String),
    /// The GPU was asked for explicitly (`device: "gpu"`) but there is no usable adapter (none,
    /// refused a device, or failed the self-test against the CPU backend).
    #[error("GPU unavailable: {0}")]
    GpuUnavailable(String),
    /// The object is in use by a call that has not finished; await it first.
    #[error("busy: {0}")]
    Busy(String),
    /// Reading or writing a file (native only).
    #[error("io: {0}")]
    Io(String),
    /// The profile store cannot be opened or used (private mode, blocked, no IndexedDB).
    #[error("storage unavailable: {0}")]
    StorageUnavailable(String),
    /// The browser refused the write for lack of space; nothing was changed.
    #[error("storage quota exceeded: {0}")]
    QuotaExceeded(String),
    /// A stored record was written by a newer SDK; it is left untouched.
    #[error("record version too new: {0}")]
    VersionTooNew(String),
    /// A stored record cannot be read; it is left untouched.
    #[error("corrupt record: {0}")]
    CorruptRecord(String),
    /// An import is not a valid profile export; nothing was changed.
    #[error("invalid import: {0}")]
    InvalidImport(String),
    /// The caller cancelled the call (an `AbortSignal`); what it had finished stays stored.
    #[error("aborted: {0}")]
    Aborted(String),
}

impl AttuneError {
    /// The stable, machine-readable code of this error.
    pub fn code(&self) -> &'static str {
        match self {
            AttuneError::InvalidArgument(_) => "invalid_argument",
            AttuneError::ModelFormat(_) => "model_format",
            AttuneError::ModelUnsupported(_) => "model_unsupported",
            AttuneError::Tokenizer(_) => "tokenizer",
            AttuneError::ChatTemplate(_) => "chat_template",
            AttuneError::InputTooLarge(_) => "input_too_large",
            AttuneError::Compute(_) => "compute",
            AttuneError::GpuUnavailable(_) => "gpu_unavailable",
            AttuneError::Busy(_) => "busy",
            AttuneError::Io(_) => "io",
            AttuneError::StorageUnavailable(_) => "storage_unavailable",
            AttuneError::QuotaExceeded(_) => "quota_exceeded",
            AttuneError::VersionTooNew(_) => "version_too_new",
            AttuneError::CorruptRecord(_) => "corrupt_record",
            AttuneError::InvalidImport(_) => "invalid_import",
            AttuneError::Aborted(_) => "aborted",
        }
    }
}

impl From<std::io::Error> for AttuneError {
    fn from(e: std::io::Error) -> Self {
        AttuneError::Io(e.to_string())
    }
}
