# Convenience targets; the README's two commands need none of them.
PG ?= postgres://postgres@127.0.0.1:5432/test?sslmode=disable

.PHONY: run test test-pg ci generate bench fuzz
run:            ## run the platform on embedded SQLite with demo data
	go run ./cmd/cancuoc serve
test:           ## the README's test command
	go test -race ./...
test-pg:        ## the same, with the PostgreSQL half of the suite
	CANCUOC_TEST_POSTGRES='$(PG)' go test -race ./...
ci:             ## what CI runs
	bash .ci/run
generate:       ## regenerate embedded reference data from ../shared/data
	go run ./admin/internal/gen -src ../shared/data -out admin/data
bench:          ## benchmarks side by side with their references; writes bench/RESULTS.md
	bash bench/run.sh
