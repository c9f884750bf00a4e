import { useLayoutEffect } from "react";

export const LEAVE_QUESTION = "This funnel has changes that are not saved. Leave without saving them?";

/** Marks the history entry the guard pushes (see below). */
const GUARD = "hitrailUnsavedGuard";

const onGuardEntry = () =>
  typeof window.history.state === "object" && window.history.state !== null && GUARD in window.history.state;

/**
 * While `dirty`, leaving asks first: closing or reloading the tab (the browser's own prompt), any
 * in-app link (the main menu, "Tracking codes", …) and the browser's Back button. The dashboard uses
 * a plain BrowserRouter, which has no navigation blocker, so link clicks are caught before React
 * Router sees them: a refused click is cancelled (Link skips navigation for a default-prevented
 * click). Back cannot be cancelled once it happens, so a guard entry with the same URL goes on top
 * of the history: Back lands on the builder's own entry (nothing changes on screen) and asks; "stay"
 * puts the guard back, "leave" goes back once more, to where Back was meant to go.
 */
export function useUnsavedChangesPrompt(dirty: boolean) {
  // A layout effect: the guard is in place before "Unsaved changes" is painted, so no click that
  // follows what the screen shows can slip past it.
  useLayoutEffect(() => {
    if (!dirty) return;
    const onBeforeUnload = (e: BeforeUnloadEvent) => {
      e.preventDefault();
      // Older browsers show the prompt only when returnValue is set.
      e.returnValue = LEAVE_QUESTION;
    };
    const onClick = (e: MouseEvent) => {
      if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
      const link = (e.target as Element | null)?.closest?.("a[href]") as HTMLAnchorElement | null;
      if (!link || link.target === "_blank" || link.origin !== window.location.origin) return;
      if (link.pathname === window.location.pathname && link.search === window.location.search) return;
      if (!window.confirm(LEAVE_QUESTION)) {
        e.preventDefault();
        e.stopPropagation();
      }
    };
    // The guard carries React Router's own state of the entry, so the router sees the same location.
    const pushGuard = () =>
      window.history.pushState({ ...(window.history.state ?? {}), [GUARD]: true }, "", window.location.href);
    if (!onGuardEntry()) pushGuard();
    let leaving = false;
    const onPopState = () => {
      if (leaving || onGuardEntry()) return;
      if (window.confirm(LEAVE_QUESTION)) {
        leaving = true;
        window.history.back();
      } else {
        pushGuard();
      }
    };
    window.addEventListener("beforeunload", onBeforeUnload);
    document.addEventListener("click", onClick, true);
    window.addEventListener("popstate", onPopState);
    return () => {
      window.removeEventListener("beforeunload", onBeforeUnload);
      document.removeEventListener("click", onClick, true);
      window.removeEventListener("popstate", onPopState);
      // Saved (or changed back): the guard entry goes, so Back needs one press again. After a
      // navigation the current entry is another one (pushed, or replaced by the router) and stays.
      if (!leaving && onGuardEntry()) window.history.back();
    };
  }, [dirty]);
}
