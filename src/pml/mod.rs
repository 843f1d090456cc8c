//! Process Monitor logs (PML), read with nom over a memory map.
