// First, so that the portal's data is requested before anything else is evaluated or rendered.
import './portal-prefetch';
import { render } from 'preact';
import 'uplot/dist/uPlot.min.css';
import './styles.css';
import { App } from './App';

render(<App />, document.getElementById('app')!);
