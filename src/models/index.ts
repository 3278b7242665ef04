import type { Model } from './define.js'
import { Book } from './book.js'
import { Person } from './person.js'

/** The models this service serves. Adding one: a file beside this one and a line here. */
export const models: readonly Model[] = [Person, Book]
