//! Status codes and the last-error message (placeholder, owned by the capture work).
