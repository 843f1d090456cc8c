//! Windows event logs (EVTX): CodeIntegrity and System events as typed records.
