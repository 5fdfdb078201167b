// Used by the type checker only when `pkg/` has not been built: the real package's own
// `tabnode.d.ts` takes precedence whenever it resolves. `loader.ts` casts either to `api.ts`.
declare module "tabnode" {
  const init: (moduleOrPath?: unknown) => Promise<unknown>;
  export default init;
  export const Wallet: unknown;
}
