/**
 * Word lists the seeded data is drawn from. Long enough that two tenants rarely get the same
 * name for the same id, so data leaking across tenants shows up in tests and on screen.
 */

export const FIRST_NAMES = [
  'Ada', 'Alan', 'Grace', 'Linus', 'Barbara', 'Ken', 'Margaret', 'Dennis', 'Frances', 'Edsger',
  'Radia', 'Donald', 'Hedy', 'Tim', 'Katherine', 'Guido', 'Anita', 'Bjarne', 'Joan', 'Niklaus',
  'Sophie', 'John', 'Mary', 'Vint', 'Lynn', 'James', 'Adele', 'Brian', 'Shafi', 'Leslie',
  'Karen', 'Robin', 'Evelyn', 'Yukihiro', 'Jean', 'Rasmus', 'Carol', 'Whitfield', 'Ida', 'Larry',
] as const;

export const LAST_NAMES = [
  'Lovelace', 'Turing', 'Hopper', 'Torvalds', 'Liskov', 'Thompson', 'Hamilton', 'Ritchie',
  'Allen', 'Dijkstra', 'Perlman', 'Knuth', 'Lamarr', 'Berners', 'Johnson', 'Rossum', 'Borg',
  'Stroustrup', 'Clarke', 'Wirth', 'Wilson', 'McCarthy', 'Keller', 'Cerf', 'Conway', 'Gosling',
  'Goldberg', 'Kernighan', 'Goldwasser', 'Lamport', 'Sparck', 'Milner', 'Boyd', 'Matsumoto',
  'Sammet', 'Lerdorf', 'Shaw', 'Diffie', 'Rhodes', 'Wall',
] as const;

/** Each category's product nouns, so a search for a category finds plausible products. */
export const CATEGORY_NOUNS: Readonly<Record<string, readonly string[]>> = {
  Kitchen: ['Kettle', 'Chef Knife', 'Skillet', 'Cutting Board', 'Teapot'],
  Home: ['Lamp', 'Armchair', 'Rug', 'Throw Blanket', 'Wall Clock'],
  Office: ['Desk', 'Notebook', 'Fountain Pen', 'Monitor Stand', 'Desk Organizer'],
  Outdoors: ['Tent', 'Lantern', 'Backpack', 'Sleeping Bag', 'Water Bottle'],
  Audio: ['Speaker', 'Headphones', 'Turntable', 'Microphone', 'Amplifier'],
  Sports: ['Yoga Mat', 'Tennis Racket', 'Football', 'Jump Rope', 'Kettlebell'],
  Garden: ['Planter', 'Watering Can', 'Garden Hose', 'Pruning Shears', 'Bird Feeder'],
  Toys: ['Puzzle', 'Kite', 'Building Set', 'Plush Bear', 'Spinning Top'],
};

export const ADJECTIVES = [
  'Rustic', 'Sleek', 'Ergonomic', 'Compact', 'Vintage', 'Handmade', 'Rugged', 'Minimal',
  'Deluxe', 'Portable', 'Classic', 'Modern', 'Cozy', 'Bold', 'Elegant', 'Practical',
] as const;

export const MATERIALS = [
  'Oak', 'Steel', 'Bamboo', 'Ceramic', 'Copper', 'Linen', 'Walnut', 'Glass', 'Wool', 'Granite',
  'Cotton', 'Aluminum', 'Leather', 'Cork',
] as const;

export const SELLING_POINTS = [
  'built to last for years',
  'a customer favourite since launch',
  'designed in small batches',
  'easy to clean and store',
  'backed by a lifetime warranty',
  'made from responsibly sourced materials',
  'perfect as a gift',
  'tested by our own team every day',
] as const;

export const TAGS = [
  'new', 'bestseller', 'eco', 'gift', 'limited', 'sale', 'premium', 'handmade', 'bundle',
  'staff-pick', 'clearance', 'exclusive',
] as const;

export const WAREHOUSES = ['IAD-1', 'SFO-2', 'FRA-1', 'SIN-1'] as const;
