// Package app is the root of the product: everything under internal/app is
// what runs in AWS Lambda (contracts, domain rules, AWS adapters, handlers).
// The local world that only simulates AWS for tests and rehearsal (the
// local cloud, the States Language engine, the SAM installer) lives beside
// it under internal/local, and nothing here may import it (layout_test.go).
package app
