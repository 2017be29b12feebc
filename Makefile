# Plaza: two commands matter — `make run` and `make test`. See README.md.
.PHONY: run test gen check-gen bootstrap services-start services-stop bench faults soak clean

run: ## Install what is missing, start the whole system locally, Ctrl-C stops it
	@scripts/run.sh

test: ## Install everything and run every check (what CI runs)
	@scripts/test.sh

gen: ## Regenerate Go/Python/TypeScript code and test vectors from schemas/
	@scripts/gen.sh

check-gen: ## Fail when generated code is stale
	@scripts/gen.sh --check

bootstrap: ## Install toolchains and dependencies only
	@scripts/bootstrap.sh

services-start: ## Start Redis and FerretDB on loopback
	@scripts/services.sh start

services-stop: ## Stop Redis and FerretDB
	@scripts/services.sh stop

bench: ## Benchmarks: W1-W4 against Plaza and Centrifugo (relay-go/bench/cmd/benchrun, ~20 min) and W5 autoscaler scale-down on a real kube-apiserver (~3 min); make test runs a short smoke
	@scripts/bench.sh

faults: ## Fault matrix under load (relay kill -9/SIGTERM, Redis restart/pause, control plane kill, FerretDB restart; ~4 min); rewrites its docs/benchmarks.md section, exits 1 on a must-be-zero count that is not 0
	@scripts/faults.sh

soak: ## 30-minute soak with churn on 2 relays + 2 control planes (not part of make test); rewrites its docs/benchmarks.md section and plots
	@scripts/soak.sh

clean: ## Remove local data (keeps installed tools)
	@scripts/services.sh stop
	rm -rf .data
