# Sourced by the test runners. `wasm_pack_test ARGS...` runs `wasm-pack test ARGS` in the browser
# engine ENGINE names: chromium (the default; Debian's chromium + chromedriver), firefox (Debian's
# firefox-esr + geckodriver from crates.io) or webkit (Debian's WebKitGTK WebKitWebDriver, under
# Xvfb). `./dev setup` installs all three.
#
# wasm-bindgen-test-runner takes GECKODRIVER, then SAFARIDRIVER, then CHROMEDRIVER: the first one
# set wins, so an exported GECKODRIVER would silently turn a Chromium run into a Firefox one. Each
# engine's command sets its own driver variable and unsets the others.

ENGINE="${ENGINE:-chromium}"
GECKODRIVER_BIN="${GECKODRIVER_BIN:-$HOME/.cargo/bin/geckodriver}"

wasm_pack_test() {
  case "$ENGINE" in
    chromium)
      env -u GECKODRIVER -u SAFARIDRIVER CHROMEDRIVER=/usr/bin/chromedriver \
        wasm-pack test --headless --chrome --mode no-install "$@"
      ;;
    firefox)
      env -u SAFARIDRIVER -u CHROMEDRIVER GECKODRIVER="$GECKODRIVER_BIN" \
        wasm-pack test --headless --firefox --geckodriver "$GECKODRIVER_BIN" --mode no-install "$@"
      ;;
    webkit)
      # WebKitGTK needs a display even when driven headless; without the DMA-BUF renderer off
      # it draws nothing under Xvfb. (The runner ignores webdriver.json for this driver.)
      env -u GECKODRIVER -u CHROMEDRIVER WEBKIT_DISABLE_DMABUF_RENDERER=1 \
        xvfb-run -a wasm-pack test --headless --safari --safaridriver /usr/bin/WebKitWebDriver \
        --mode no-install "$@"
      ;;
    *)
      echo "ENGINE must be chromium, firefox or webkit (not '$ENGINE')" >&2
      return 2
      ;;
  esac
}
