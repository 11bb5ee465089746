//! Typed indices into the simulation's tables: an instance is never looked up by a build's
//! number, and a table answers only to its own kind of index.

use std::fmt;
use std::marker::PhantomData;
use std::ops::{Index, IndexMut};

/// A position in a [`Table`].
pub trait TableIndex: Copy {
    fn from_usize(position: usize) -> Self;
    fn to_usize(self) -> usize;
}

macro_rules! table_index {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(u32);

        impl TableIndex for $name {
            fn from_usize(position: usize) -> Self {
                $name(u32::try_from(position).expect("fewer than 2^32 entries"))
            }

            fn to_usize(self) -> usize {
                self.0 as usize
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

table_index!(
    /// A build of the workload.
    BuildIx
);
table_index!(
    /// An instance, in launch order over all pools.
    InstanceIx
);
table_index!(
    /// A pool: one Auto Scaling group and its alarms.
    PoolIx
);
table_index!(
    /// A distinct label expression of the workload, with its CI queue.
    LabelIx
);

impl InstanceIx {
    /// The EC2 instance id, which is also its agent's name.
    pub fn instance_id(self) -> String {
        format!("i-{:08x}", self.0)
    }
}

/// A vector indexed by one kind of index.
#[derive(Debug, Clone)]
pub struct Table<I, T> {
    items: Vec<T>,
    index: PhantomData<I>,
}

impl<I: TableIndex, T> Table<I, T> {
    pub fn new() -> Self {
        Table {
            items: Vec::new(),
            index: PhantomData,
        }
    }

    /// Appends `item` and returns its index.
    pub fn push(&mut self, item: T) -> I {
        self.items.push(item);
        I::from_usize(self.items.len() - 1)
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// The index the next `push` returns.
    pub fn next_index(&self) -> I {
        I::from_usize(self.items.len())
    }

    pub fn indices(&self) -> impl Iterator<Item = I> + use<I, T> {
        (0..self.items.len()).map(I::from_usize)
    }

    pub fn iter(&self) -> std::slice::Iter<'_, T> {
        self.items.iter()
    }

    pub fn iter_mut(&mut self) -> std::slice::IterMut<'_, T> {
        self.items.iter_mut()
    }

    pub fn enumerate(&self) -> impl Iterator<Item = (I, &T)> {
        self.items
            .iter()
            .enumerate()
            .map(|(k, item)| (I::from_usize(k), item))
    }
}

impl<I: TableIndex, T> Default for Table<I, T> {
    fn default() -> Self {
        Table::new()
    }
}

impl<I: TableIndex, T> FromIterator<T> for Table<I, T> {
    fn from_iter<It: IntoIterator<Item = T>>(items: It) -> Self {
        Table {
            items: items.into_iter().collect(),
            index: PhantomData,
        }
    }
}

impl<I: TableIndex, T> Index<I> for Table<I, T> {
    type Output = T;

    fn index(&self, index: I) -> &T {
        &self.items[index.to_usize()]
    }
}

impl<I: TableIndex, T> IndexMut<I> for Table<I, T> {
    fn index_mut(&mut self, index: I) -> &mut T {
        &mut self.items[index.to_usize()]
    }
}
