-- Runs once, when the PostgreSQL volume is initialised (/docker-entrypoint-initdb.d).
-- One database per service; each service creates its tables through its own migrations at start-up.
CREATE DATABASE delivery;
CREATE DATABASE ecommerce;
