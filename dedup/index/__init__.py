"""The incremental index: `dedup.Index` (core), its storage protocol and backends (store, redis_store)."""
