import { useLayoutEffect } from "react";

export const LEAVE_QUESTION = "This funnel has changes that are not saved. Leave without saving them?";

/**
 * While `dirty`, leaving asks first: closing or reloading the tab (the browser's own prompt) and any
 * in-app link (the main menu, "Tracking codes", …). The dashboard uses a plain BrowserRouter, which
 * has no navigation blocker, so link clicks are caught before React Router sees them: a refused
 * click is cancelled (Link skips navigation for a default-prevented click).
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
    window.addEventListener("beforeunload", onBeforeUnload);
    document.addEventListener("click", onClick, true);
    return () => {
      window.removeEventListener("beforeunload", onBeforeUnload);
      document.removeEventListener("click", onClick, true);
    };
  }, [dirty]);
}
