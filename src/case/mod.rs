//! Case folders: discovery, sniffing, inventory and loading.
