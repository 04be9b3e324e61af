//! Where memory comes from: mimalloc, and heaps of their own for what is freed whole.
//!
//! A document is built at startup among a great deal that startup frees (the parse of every
//! file, the bundler's maps), then the model is built, and its small values fill the holes those
//! left among the document's. Once the model is built, startup replaces the document with the part
//! requests read ([`crate::model::keep`]). Freed in holes among the model's values, the old
//! document's memory would stay resident: the allocator can give the system back only whole pages.
//!
//! So a document is built in a [`Heap`] of its own: whatever is allocated while a thread
//! [fills](Heap::fill) a heap goes into pages of that heap, which nothing else shares. Several
//! threads may fill one heap at once (the files of a spec are parsed on every core). Freeing
//! the document then frees those pages whole, and dropping the heap hands what is still live in
//! it (a file name kept for `--watch`) to the main heap.
//!
//! [`Allocator`] is the global allocator of the `specbox` binary: mimalloc (see `main.rs` for
//! why), into the heap the current thread fills, if any. Where another allocator is global (this
//! crate's own tests), filling a heap changes nothing.

use libmimalloc_sys as mi;
use std::alloc::{GlobalAlloc, Layout};
use std::cell::Cell;
use std::ffi::c_void;
use std::ptr::{NonNull, null_mut};

thread_local! {
    /// The heap this thread fills, or null: the thread's own. Read on every allocation, so it
    /// is a plain pointer with no destructor (a `const` thread local costs one load).
    static FILLING: Cell<*mut mi::mi_heap_t> = const { Cell::new(null_mut()) };
}

/// mimalloc, into the heap the allocating thread [fills](Heap::fill), if any.
pub struct Allocator;

/// The heap this thread fills (null: its own). A thread being torn down has none.
#[inline]
fn filling() -> *mut mi::mi_heap_t {
    FILLING.try_with(Cell::get).unwrap_or(null_mut())
}

/// A block for `layout`, from the heap this thread fills (`filled`), else from its own (`own`).
///
/// # Safety
/// `own` and `filled` must be mimalloc's allocation functions (plain and zeroed alike).
#[inline(always)]
unsafe fn block(
    layout: Layout,
    own: unsafe extern "C" fn(usize, usize) -> *mut c_void,
    filled: unsafe extern "C" fn(*mut mi::mi_heap_t, usize, usize) -> *mut c_void,
) -> *mut u8 {
    let heap = filling();
    // SAFETY: see above; a heap set by `fill` lives until `fill` returns.
    unsafe {
        if heap.is_null() {
            own(layout.size(), layout.align()) as *mut u8
        } else {
            filled(heap, layout.size(), layout.align()) as *mut u8
        }
    }
}

// SAFETY: every function forwards to mimalloc's, which meet `GlobalAlloc`'s contract (alignment,
// size, a null on failure); a block from any heap may be freed or grown through any other call.
//
// Not inlined (but `dealloc`): inlined into every allocation site, the heap's branch added 330 kB
// of code to the binary, and resident code is idle memory.
unsafe impl GlobalAlloc for Allocator {
    #[inline(never)]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: mimalloc's allocation functions, with the layout's size and alignment.
        unsafe { block(layout, mi::mi_malloc_aligned, mi::mi_heap_malloc_aligned) }
    }

    #[inline(never)]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as in `alloc`.
        unsafe { block(layout, mi::mi_zalloc_aligned, mi::mi_heap_zalloc_aligned) }
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, _layout: Layout) {
        // SAFETY: `ptr` came from one of the calls above.
        unsafe { mi::mi_free(ptr as *mut c_void) }
    }

    #[inline(never)]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let heap = filling();
        // SAFETY: as in `alloc`; `ptr` came from one of the calls above.
        unsafe {
            if heap.is_null() {
                mi::mi_realloc_aligned(ptr as *mut c_void, new_size, layout.align()) as *mut u8
            } else {
                mi::mi_heap_realloc_aligned(heap, ptr as *mut c_void, new_size, layout.align()) as *mut u8
            }
        }
    }
}

/// A mimalloc heap: pages of its own. Dropped, it hands what is still live in it to the main
/// heap (nothing is freed that is in use).
pub struct Heap(NonNull<mi::mi_heap_t>);

// SAFETY: mimalloc 3's heaps are first-class: any thread may allocate from, free into or delete
// one (mimalloc.h, "Heaps: first-class").
unsafe impl Send for Heap {}
// SAFETY: as above; `&Heap` only allows `fill`, an allocation from the heap.
unsafe impl Sync for Heap {}

impl Heap {
    /// A new heap; `None` if mimalloc cannot make one (then memory comes from the thread's).
    pub fn new() -> Option<Heap> {
        // SAFETY: creates a heap; no argument.
        NonNull::new(unsafe { mi::mi_heap_new() }).map(Heap)
    }

    /// Runs `f`, with what this thread allocates meanwhile taken from this heap.
    pub fn fill<T>(&self, f: impl FnOnce() -> T) -> T {
        /// Puts the previous heap back, also when `f` panics.
        struct Restore(*mut mi::mi_heap_t);
        impl Drop for Restore {
            fn drop(&mut self) {
                let _ = FILLING.try_with(|h| h.set(self.0));
            }
        }
        let previous = FILLING.with(|h| h.replace(self.0.as_ptr()));
        let _restore = Restore(previous);
        f()
    }
}

impl Drop for Heap {
    fn drop(&mut self) {
        // A thread still filling this heap would allocate from a deleted one: `fill` borrows the
        // heap, so none can be.
        // SAFETY: the heap came from `mi_heap_new` and is deleted once; its live blocks move to
        // the main heap.
        unsafe { mi::mi_heap_delete(self.0.as_ptr()) }
    }
}

impl std::fmt::Debug for Heap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Heap")
    }
}
