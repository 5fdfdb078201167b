# Sourced by the test runners. `wasm_pack_test ARGS...` runs `wasm-pack test ARGS` in the browser
# engine ENGINE names: chromium (the default; Debian's chromium + chromedriver), firefox (Debian's
# firefox-esr + geckodriver from crates.io) or webkit (Debian's WebKitGTK WebKitWebDriver, under
# Xvfb); `cargo_test_in_engine ARGS...` runs `cargo test --target wasm32-unknown-unknown ARGS`
# there (for a profile wasm-pack cannot name). `./dev setup` installs all three engines.
#
# wasm-bindgen-test-runner takes GECKODRIVER, then SAFARIDRIVER, then CHROMEDRIVER: the first one
# set wins, so an exported GECKODRIVER would silently turn a Chromium run into a Firefox one. Each
# engine's command sets its own driver variable and unsets the others.

ENGINE="${ENGINE:-chromium}"
GECKODRIVER_BIN="${GECKODRIVER_BIN:-$HOME/.cargo/bin/geckodriver}"
case "$ENGINE" in
  chromium | firefox | webkit) ;;
  *) echo "ENGINE must be chromium, firefox or webkit (not '$ENGINE')" >&2; exit 2 ;;
esac

# Runs "$@" with the engine's driver variable (and, for WebKit, a display).
in_engine() {
  case "$ENGINE" in
    chromium) env -u GECKODRIVER -u SAFARIDRIVER CHROMEDRIVER=/usr/bin/chromedriver "$@" ;;
    firefox) env -u SAFARIDRIVER -u CHROMEDRIVER GECKODRIVER="$GECKODRIVER_BIN" "$@" ;;
    # WebKitGTK needs a display even when driven headless; without the DMA-BUF renderer off it
    # draws nothing under Xvfb. (The runner ignores webdriver.json for this driver.)
    webkit)
      env -u GECKODRIVER -u CHROMEDRIVER SAFARIDRIVER=/usr/bin/WebKitWebDriver \
        WEBKIT_DISABLE_DMABUF_RENDERER=1 xvfb-run -a "$@"
      ;;
  esac
}

wasm_pack_test() {
  case "$ENGINE" in
    chromium) in_engine wasm-pack test --headless --chrome --mode no-install "$@" ;;
    firefox) in_engine wasm-pack test --headless --firefox --geckodriver "$GECKODRIVER_BIN" --mode no-install "$@" ;;
    webkit) in_engine wasm-pack test --headless --safari --safaridriver /usr/bin/WebKitWebDriver --mode no-install "$@" ;;
  esac
}

cargo_test_in_engine() {
  in_engine env CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
    cargo test --target wasm32-unknown-unknown "$@"
}
