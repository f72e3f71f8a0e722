--
-- PostgreSQL database dump
--

-- Dumped from database version 16.2
SET statement_timeout = 0;
SET lock_timeout = 0;
SET idle_in_transaction_session_timeout = 0;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
SELECT pg_catalog.set_config('search_path', '', false);
SET check_function_bodies = false;
SET xmloption = content;
SET client_min_messages = warning;
SET row_security = off;

CREATE EXTENSION IF NOT EXISTS pgcrypto WITH SCHEMA public;
COMMENT ON EXTENSION pgcrypto IS 'cryptographic functions';

CREATE TYPE public.mood AS ENUM (
    'sad',
    'ok',
    'happy'
);
ALTER TYPE public.mood OWNER TO postgres;

SET default_tablespace = '';
SET default_table_access_method = heap;

CREATE TABLE public.people (
    id integer NOT NULL,
    email text NOT NULL,
    current_mood public.mood,
    tags text[] DEFAULT '{}'::text[],
    created_at timestamp without time zone DEFAULT CURRENT_TIMESTAMP NOT NULL,
    amount numeric(10,2),
    CONSTRAINT people_amount_check CHECK ((amount >= (0)::numeric))
);
ALTER TABLE public.people OWNER TO postgres;
COMMENT ON TABLE public.people IS 'People we know';

CREATE SEQUENCE public.people_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;
ALTER SEQUENCE public.people_id_seq OWNER TO postgres;
ALTER SEQUENCE public.people_id_seq OWNED BY public.people.id;
ALTER TABLE ONLY public.people ALTER COLUMN id SET DEFAULT nextval('public.people_id_seq'::regclass);

COPY public.people (id, email, current_mood, tags, created_at, amount) FROM stdin;
1	a@example.com	happy	{a,b}	2026-01-01 10:00:00	12.50
2	b@example.com	\N	{}	2026-01-02 11:00:00	\N
\.

SELECT pg_catalog.setval('public.people_id_seq', 2, true);

ALTER TABLE ONLY public.people
    ADD CONSTRAINT people_email_key UNIQUE (email);
ALTER TABLE ONLY public.people
    ADD CONSTRAINT people_pkey PRIMARY KEY (id);
CREATE INDEX people_created_at_idx ON public.people USING btree (created_at);

CREATE FUNCTION public.touch() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
  NEW.created_at := now();
  RETURN NEW;
END;
$$;
CREATE TRIGGER people_touch BEFORE UPDATE ON public.people FOR EACH ROW EXECUTE FUNCTION public.touch();
GRANT ALL ON TABLE public.people TO app;
REVOKE ALL ON SCHEMA public FROM PUBLIC;
