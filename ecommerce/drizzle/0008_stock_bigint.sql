ALTER TABLE "products" DROP CONSTRAINT "products_quantity_ck";--> statement-breakpoint
ALTER TABLE "products" ALTER COLUMN "quantity" SET DATA TYPE bigint;--> statement-breakpoint
ALTER TABLE "products" ADD CONSTRAINT "products_quantity_ck" CHECK ("products"."quantity" between 0 and 9007199254740991);