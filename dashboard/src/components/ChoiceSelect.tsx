/**
 * A labelled select over a fixed list of choices (range, granularity): the label's text is also
 * its accessible name, and the value comes back typed as one of the choices' ids.
 */
export function ChoiceSelect<Id extends string>(props: {
  label: string;
  value: Id;
  choices: readonly { id: Id; label: string }[];
  onChange: (id: Id) => void;
}) {
  return (
    <label>
      {props.label}
      <select aria-label={props.label} value={props.value} onChange={(e) => props.onChange((e.target as HTMLSelectElement).value as Id)}>
        {props.choices.map((c) => (
          <option value={c.id} key={c.id}>
            {c.label}
          </option>
        ))}
      </select>
    </label>
  );
}
