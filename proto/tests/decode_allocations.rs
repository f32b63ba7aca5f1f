//! What decoding a quantity allocates, counted by a global allocator of
//! this test binary: the reason `ResourceQuantity` and `Discrepancy` are
//! written by hand (`src/by_hand.rs`) is that a name the catalog knows
//! decodes without an allocation.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use pairing_proto::resource::ResourceType;
use pairing_proto::v1::{Discrepancy, ResourceQuantity};
use prost::Message;

/// The system allocator, counting this thread's allocations.
struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.with(|n| n.set(n.get() + 1));
        System.alloc(layout)
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }
}

#[global_allocator]
static COUNTING: Counting = Counting;

/// Allocations `f` made on this thread.
fn allocations<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let before = ALLOCATIONS.with(Cell::get);
    let value = f();
    (value, ALLOCATIONS.with(Cell::get) - before)
}

fn encoded(name: &str) -> Vec<u8> {
    Discrepancy {
        resource_type: name.into(),
        quantity: 40,
        reason: 1,
    }
    .encode_to_vec()
}

#[test]
fn a_catalog_name_decodes_without_an_allocation() {
    for t in ResourceType::DEFAULTS {
        let bytes = encoded(t.as_str());
        let (q, n) = allocations(|| ResourceQuantity::decode(&bytes[..]).unwrap());
        assert_eq!((q.resource_type.as_str(), n), (t.as_str(), 0));
        let (d, n) = allocations(|| Discrepancy::decode(&bytes[..]).unwrap());
        assert_eq!((d.resource_type.as_str(), n), (t.as_str(), 0));
    }
}

/// The counter counts: a name the catalog lacks is kept as sent, in one
/// allocation.
#[test]
fn a_name_the_catalog_lacks_is_one_allocation() {
    let bytes = encoded("material/tent");
    let (q, n) = allocations(|| ResourceQuantity::decode(&bytes[..]).unwrap());
    assert_eq!((q.resource_type.as_str(), n), ("material/tent", 1));
}
