#!/usr/bin/env bash
# Installs the Debian packages flowmatch needs to build and test, and only those that are
# missing: silent when everything is there. `--bench` adds the PyTorch twin's packages and the word
# list of bench/discrete, `--browser` Debian's chromium (the test that opens `flowmatch report`'s
# page headless is skipped without it).
set -euo pipefail

packages=(
  cmake g++ make          # the build
  libtorch-dev            # tensors, autograd, nn, optimizers (LibTorch 1.13, CPU)
  libopenblas-dev         # the BLAS LibTorch's GEMMs run on (the reference BLAS is 12x slower)
  libdnnl-dev             # oneDNN, under LibTorch's convolutions: the unet's Winograd convolutions
  libcli11-dev            # command line and TOML config
  nlohmann-json3-dev      # safetensors headers, metrics, reports
  libstb-dev              # PNG writing, image resizing, text in figures
  libpng-dev              # reading PNG pictures
  libturbojpeg0-dev       # reading JPEG pictures
  zlib1g-dev              # gzip'd data files
  dataset-fashion-mnist   # the built-in fashion-mnist image set
  libgtest-dev            # tests
  protobuf-compiler       # tests: protoc --decode_raw reads TensorBoard event files independently
  libbenchmark-dev        # micro-benchmarks
  liblemon-dev            # exact minibatch optimal transport (network simplex)
  libgloo-dev             # c10d collectives for multi-process training
)
for option in "$@"; do
  case "$option" in
    --bench) packages+=(python3-torch python3-numpy wamerican) ;;  # the PyTorch twin in bench/reference, the word list of bench/discrete
    --browser) packages+=(chromium) ;;                   # a real browser for the report's test
    *) echo "install-deps: unknown option $option (--bench, --browser)" >&2; exit 2 ;;
  esac
done

missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$package")
  fi
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

sudo=""
if [[ "$(id -u)" -ne 0 ]]; then sudo="sudo"; fi
echo "install-deps: installing ${missing[*]}" >&2
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
