//! The SYSTEM registry hive: control set, services, time zone.
