.PHONY: run test generate bench ci
run:       ## start the server with demo data (embedded SQLite)
	scripts/run-server.sh
test:      ## the whole test suite
	scripts/test.sh
generate:  ## regenerate Swift and C code from proto/
	scripts/generate-protos.sh
bench:     ## benchmarks against baselines (slow; not part of the tests)
	benchmarks/run.sh
ci:
	bash .ci/run
