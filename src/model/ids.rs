//! Index newtypes for the model's arrays, so a station's index can never
//! be used for a pool or a machine, and vectors indexed by them.

use std::marker::PhantomData;
use std::ops::{Index, IndexMut};

/// An index into an [`IdVec`].
pub(crate) trait Id: Copy {
    /// The position.
    fn ix(self) -> usize;
    /// The id at a position.
    fn at(i: usize) -> Self;
}

macro_rules! id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub(crate) struct $name(pub u32);

        impl Id for $name {
            #[inline]
            fn ix(self) -> usize {
                self.0 as usize
            }
            #[inline]
            fn at(i: usize) -> Self {
                $name(i as u32)
            }
        }
    };
}

id!(
    /// A station: one instance of a pool.
    StationId
);
id!(
    /// A pool: a (tier, role) group of identical instances.
    PoolId
);
id!(
    /// A machine of a host group.
    HostId
);

impl StationId {
    /// "No station" in the per-request inline arrays (`Request::inst`,
    /// `Request::station`): an `Option` there would double their size on
    /// the hot path.
    pub(crate) const NONE: StationId = StationId(u32::MAX);
}

/// A vector indexed by its own id type only.
#[derive(Clone, Debug)]
pub(crate) struct IdVec<I, T> {
    items: Vec<T>,
    _id: PhantomData<fn(I)>,
}

impl<I: Id, T> IdVec<I, T> {
    /// Every element, in id order.
    pub fn iter(&self) -> std::slice::Iter<'_, T> {
        self.items.iter()
    }

    /// Every element with its id.
    pub fn enumerate(&self) -> impl Iterator<Item = (I, &T)> {
        self.items.iter().enumerate().map(|(i, t)| (I::at(i), t))
    }

    /// Every id.
    pub fn ids(&self) -> impl Iterator<Item = I> + use<I, T> {
        (0..self.items.len()).map(I::at)
    }

    /// How many.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Appends an element and returns its id.
    pub fn push(&mut self, t: T) -> I {
        self.items.push(t);
        I::at(self.items.len() - 1)
    }

    /// The id the next push will get.
    pub fn next_id(&self) -> I {
        I::at(self.items.len())
    }
}

impl<'a, I, T> IntoIterator for &'a IdVec<I, T> {
    type Item = &'a T;
    type IntoIter = std::slice::Iter<'a, T>;
    fn into_iter(self) -> Self::IntoIter {
        self.items.iter()
    }
}

impl<'a, I, T> IntoIterator for &'a mut IdVec<I, T> {
    type Item = &'a mut T;
    type IntoIter = std::slice::IterMut<'a, T>;
    fn into_iter(self) -> Self::IntoIter {
        self.items.iter_mut()
    }
}

impl<I, T> Default for IdVec<I, T> {
    fn default() -> Self {
        IdVec {
            items: Vec::new(),
            _id: PhantomData,
        }
    }
}

impl<I, T> FromIterator<T> for IdVec<I, T> {
    fn from_iter<It: IntoIterator<Item = T>>(it: It) -> Self {
        IdVec {
            items: it.into_iter().collect(),
            _id: PhantomData,
        }
    }
}

impl<I: Id, T> Index<I> for IdVec<I, T> {
    type Output = T;
    #[inline]
    fn index(&self, i: I) -> &T {
        &self.items[i.ix()]
    }
}

impl<I: Id, T> IndexMut<I> for IdVec<I, T> {
    #[inline]
    fn index_mut(&mut self, i: I) -> &mut T {
        &mut self.items[i.ix()]
    }
}
