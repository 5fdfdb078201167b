/** Renders an invoice as a QR code on a canvas (upper-case for QR's compact alphanumeric mode). */
import QRCode from "qrcode";

export async function renderInvoiceQr(canvas: HTMLCanvasElement, invoice: string): Promise<void> {
  await QRCode.toCanvas(canvas, `lightning:${invoice}`.toUpperCase(), {
    errorCorrectionLevel: "M",
    margin: 2,
    width: 280,
    color: { dark: "#111111", light: "#ffffff" },
  });
}
