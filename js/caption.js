// What the view says its map is of, and whether the map shown is stale.

/**
 * The caption and stale flag for the view.
 * @param view {status, progress, error, heatmap: {caption} | null, matches: bool, methodLabel}
 * @returns {{text: string, stale: boolean, blank: boolean}} `stale`: the map shown is not the current
 *   state's (dimmed, export off); `blank`: there is no valid map after an error or a cancel, so
 *   the canvas shows the image alone.
 */
export function captionFor({ status, progress, error, heatmap, matches, methodLabel }) {
  if (matches) {
    const text =
      status === "computing" ? `${heatmap.caption} · computing scores… ${percent(progress)}` : heatmap.caption;
    return { text, stale: false, blank: false };
  }
  const previous = heatmap?.caption ? ` (showing the previous map: ${heatmap.caption})` : "";
  if (status === "computing")
    return { text: `Computing ${methodLabel}… ${percent(progress)}${previous}`, stale: true, blank: false };
  if (status === "error")
    return { text: `No valid map: ${error || "the computation failed"}`, stale: true, blank: true };
  if (status === "cancelled")
    return { text: `No map: ${methodLabel} was cancelled. Click Compute to run it.`, stale: true, blank: true };
  return { text: `Waiting for the kernel to compute ${methodLabel}…${previous}`, stale: true, blank: false };
}

function percent(progress) {
  return `${Math.round(100 * (progress || 0))}%`;
}
