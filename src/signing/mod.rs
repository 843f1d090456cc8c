//! Authenticode hashes, embedded signatures, catalogs and signature verdicts.
