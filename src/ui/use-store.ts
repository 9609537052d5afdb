/** Components read the store through selectors, so a change in one loop re-renders only its row. */
import { createContext, useCallback, useContext, useRef, useSyncExternalStore } from 'react';
import type { Slice, UiState, UiStore } from './store.js';

export const StoreContext = createContext<UiStore | null>(null);

export function useUiStore(): UiStore {
  const store = useContext(StoreContext);
  if (store === null) {
    throw new Error('useUiStore: no store in context; render the screen through <App store={...}>');
  }
  return store;
}

/**
 * Reads a value out of the state. Without `equal`, the selector must return a primitive or an
 * object already in the state; with it, a freshly built value (a list, a tuple) is kept while it
 * stays equal, so the component does not re-render and React does not loop.
 */
export function useUiSelector<T>(selector: (state: UiState) => T, equal?: (a: T, b: T) => boolean): T {
  const store = useUiStore();
  const subscribe = useCallback((onChange: () => void) => store.subscribe(onChange), [store]);
  const last = useRef<{ value: T } | undefined>(undefined);
  return useSyncExternalStore(subscribe, () => {
    const value = selector(store.getState());
    if (equal !== undefined && last.current !== undefined && equal(last.current.value, value)) {
      return last.current.value;
    }
    last.current = { value };
    return value;
  });
}

/** Element-wise equality of two arrays (by ===): for selectors that build a list. */
export function shallowArrayEqual<T>(a: readonly T[], b: readonly T[]): boolean {
  return a.length === b.length && a.every((item, i) => item === b[i]);
}

/**
 * A pane's own slice. The store keys slices by pane id and only that pane's slice writes there,
 * so the value read back under the id is the pane's type.
 */
export function usePaneSlice<S>(id: string, slice: Slice<S>): S {
  return useUiSelector((state) => (id in state.slices ? (state.slices[id] as S) : sliceInit(slice, state)));
}

const fallbacks = new WeakMap<object, unknown>();

/** A store built without this pane's slice (a test of another pane) still gives it a stable value. */
function sliceInit<S>(slice: Slice<S>, state: UiState): S {
  if (!fallbacks.has(slice)) fallbacks.set(slice, slice.init(state.loops.map((view) => view.info)));
  return fallbacks.get(slice) as S;
}
