"""Personal data sealed under a key per customer (AES-GCM), the keys kept in the database or in memory."""
