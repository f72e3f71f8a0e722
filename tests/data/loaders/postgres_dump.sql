--
-- PostgreSQL database dump
--

SET statement_timeout = 0;
SET lock_timeout = 0;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
SELECT pg_catalog.set_config('search_path', '', false);
SET default_tablespace = '';

CREATE TABLE public.customers (
    id integer NOT NULL,
    email character varying(255) NOT NULL,
    full_name text,
    balance numeric(12,2) DEFAULT 0,
    signed_up_at timestamp with time zone DEFAULT now(),
    is_active boolean DEFAULT true NOT NULL,
    external_ref uuid,
    settings jsonb
);

CREATE SEQUENCE public.customers_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE public.customers_id_seq OWNED BY public.customers.id;

CREATE TABLE public.orders (
    id integer NOT NULL,
    customer_id integer NOT NULL,
    placed_on date NOT NULL,
    total money,
    note text
);

ALTER TABLE ONLY public.customers ALTER COLUMN id SET DEFAULT nextval('public.customers_id_seq'::regclass);

COPY public.customers (id, email, full_name, balance, signed_up_at, is_active, external_ref, settings) FROM stdin;
1	ada@example.com	Ada Lovelace	12.50	2026-02-03 10:15:00+01	t	0b6d8f3e-9a4c-4c8e-b2a7-3f1e2d4c5b6a	{"theme": "dark"}
2	grace@example.com	Grace Hopper	0.00	2026-02-04 08:00:00+00	f	\N	\N
3	tab@example.com	Tab\tSeparated	-3.25	2026-02-05 23:59:59+00	t	\N	{}
\.

INSERT INTO public.orders (id, customer_id, placed_on, total, note) VALUES (1, 1, '2026-03-14', 19.99, 'first');
INSERT INTO public.orders (id, customer_id, placed_on, total, note) VALUES (2, 1, '2026-03-15', 5.00, NULL), (3, 2, '2026-03-16', 120.00, 'it''s quoted');

ALTER TABLE ONLY public.customers
    ADD CONSTRAINT customers_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.orders
    ADD CONSTRAINT orders_pkey PRIMARY KEY (id);

CREATE UNIQUE INDEX customers_email_key ON public.customers USING btree (email);

ALTER TABLE ONLY public.orders
    ADD CONSTRAINT orders_customer_id_fkey FOREIGN KEY (customer_id) REFERENCES public.customers(id) ON DELETE CASCADE;

--
-- PostgreSQL database dump complete
--
